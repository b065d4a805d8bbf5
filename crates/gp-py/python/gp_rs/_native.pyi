"""Type stubs of gp_rs's extension module (see the package docstring)."""

import os
from collections.abc import Awaitable
from typing import Any, Optional, Union, final

from typing_extensions import Self

__version__: str

_Path = Union[str, "os.PathLike[str]"]
_Ref = Union[int, str]

class GpError(Exception):
    """Base class of every error gp raises."""

class ToolFailedError(GpError):
    """The job ended without success."""

    messages: list[Message]
    status: int
    job_id: str

class ValidationError(GpError):
    """An input was refused before anything was sent."""

    parameter: str

class ServerError(GpError):
    """The server answered with an error."""

    code: int

class AuthError(GpError):
    """Authentication failed."""

    code: int

class NetworkError(GpError):
    """No usable answer."""

    job_url: str

class WaitTimeoutError(GpError):
    """Waiting took longer than the timeout given; the job goes on."""

    job_url: str

class DataError(GpError):
    """Local data could not be read or written."""

@final
class Env:
    """Settings shared by every call (arcpy's `arcpy.env`)."""

    scratch_workspace: Optional[_Path]

env: Env

@final
class Message:
    """One message of a job."""

    @property
    def severity(self) -> int: ...
    @property
    def type(self) -> str: ...
    @property
    def description(self) -> str: ...

@final
class FeatureSet:
    """A set of features with a schema; an Arrow stream with GeoArrow WKB geometry."""

    def __new__(cls, json: Optional[Union[str, bytes]] = None) -> Self: ...
    @staticmethod
    def from_json(json: Union[str, bytes]) -> FeatureSet: ...
    @staticmethod
    def from_arrow(data: Any) -> FeatureSet: ...
    @staticmethod
    def from_geopandas(gdf: Any) -> FeatureSet: ...
    def to_geopandas(self) -> Any: ...
    def to_json(self) -> str: ...
    def load(self, path: _Path) -> None: ...
    def save(self, path: _Path, overwrite: bool = False) -> os.PathLike[str]: ...
    def __len__(self) -> int: ...
    @property
    def geometry_type(self) -> Optional[str]: ...
    @property
    def wkid(self) -> Optional[int]: ...
    @property
    def fields(self) -> list[tuple[str, str]]: ...
    @property
    def exceeded_transfer_limit(self) -> bool: ...
    @property
    def __geo_interface__(self) -> dict[str, Any]: ...
    def __arrow_c_schema__(self) -> object: ...
    def __arrow_c_stream__(self, requested_schema: Optional[object] = None) -> object: ...

@final
class MapImage:
    """A map image of an output."""

    @property
    def width(self) -> int: ...
    @property
    def height(self) -> int: ...
    @property
    def format(self) -> str: ...
    @property
    def data(self) -> bytes: ...
    def save(self, path: _Path, overwrite: bool = False) -> os.PathLike[str]: ...

@final
class Result:
    """A run of a task (arcpy's Result)."""

    @property
    def status(self) -> Optional[int]: ...
    @property
    def status_name(self) -> str: ...
    @property
    def job_id(self) -> Optional[str]: ...
    @property
    def job_url(self) -> Optional[str]: ...
    @property
    def messages(self) -> list[Message]: ...
    @property
    def max_severity(self) -> int: ...
    @property
    def output_count(self) -> int: ...
    @property
    def output_names(self) -> list[str]: ...
    def refresh(self) -> Optional[int]: ...
    def wait(self, timeout: Optional[float] = None) -> Self: ...
    def wait_async(self, timeout: Optional[float] = None) -> Awaitable[Result]: ...
    def cancel(self) -> Optional[int]: ...
    def output(self, p: _Ref) -> Any: ...
    def output_async(self, p: _Ref) -> Awaitable[Any]: ...
    def __getitem__(self, p: _Ref, /) -> Any: ...
    def __len__(self) -> int: ...
    def download(
        self, p: _Ref, scratch_workspace: Optional[_Path] = None, overwrite: bool = False
    ) -> os.PathLike[str]: ...
    def map_image_url(
        self,
        p: _Ref,
        size: tuple[int, int] = ...,
        format: str = ...,
        dpi: int = 96,
        transparent: bool = False,
        bbox: Optional[tuple[float, float, float, float]] = None,
    ) -> str: ...
    def map_image(
        self,
        p: _Ref,
        size: tuple[int, int] = ...,
        format: str = ...,
        dpi: int = 96,
        transparent: bool = False,
        bbox: Optional[tuple[float, float, float, float]] = None,
    ) -> MapImage: ...

@final
class Tool:
    """One task of a service; call it with its inputs to run it."""

    @property
    def name(self) -> str: ...
    @property
    def url(self) -> str: ...
    @property
    def is_synchronous(self) -> bool: ...
    @property
    def parameters(self) -> list[dict[str, Any]]: ...
    def parameter_value(self, p: _Ref) -> Any: ...
    def __call__(self, *args: Any, **kwargs: Any) -> Result: ...
    def run_async(self, *args: Any, **kwargs: Any) -> Awaitable[Result]: ...

@final
class Toolbox:
    """A geoprocessing service; its tasks are attributes."""

    @property
    def url(self) -> str: ...
    @property
    def is_synchronous(self) -> bool: ...
    @property
    def tools(self) -> list[str]: ...
    def tool(self, name: str) -> Tool: ...
    def __getattr__(self, name: str) -> Tool: ...

def import_toolbox(
    url: str,
    *,
    token: Optional[str] = None,
    username: Optional[str] = None,
    password: Optional[str] = None,
    ca_cert: Optional[_Path] = None,
    timeout: Optional[float] = None,
) -> Toolbox: ...
def import_toolbox_async(
    url: str,
    *,
    token: Optional[str] = None,
    username: Optional[str] = None,
    password: Optional[str] = None,
    ca_cert: Optional[_Path] = None,
    timeout: Optional[float] = None,
) -> Awaitable[Toolbox]: ...
def open_job(
    job: str,
    *,
    token: Optional[str] = None,
    username: Optional[str] = None,
    password: Optional[str] = None,
    ca_cert: Optional[_Path] = None,
    timeout: Optional[float] = None,
) -> Result: ...
def open_job_async(
    job: str,
    *,
    token: Optional[str] = None,
    username: Optional[str] = None,
    password: Optional[str] = None,
    ca_cert: Optional[_Path] = None,
    timeout: Optional[float] = None,
) -> Awaitable[Result]: ...
def _quiesce() -> None:
    """Waits for the runtime's tasks to end (registered with atexit)."""
