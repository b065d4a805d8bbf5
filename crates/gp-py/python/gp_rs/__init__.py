"""gp_rs: ArcGIS geoprocessing services from Python on gp's Rust engine.

arcpy's server-tool workflow, typed and fast::

    import gp_rs as gp

    tb = gp.import_toolbox("https://host/arcgis/services;GP/BufferByVal")
    fs = tb.BufferPoints.parameter_value(0)   # the empty FeatureSet with the schema
    fs.load("roads.shp")
    result = tb.BufferPoints(fs, "5 feet").wait()
    result.output(0).save("base.gdb/towers_buffer")

Feature sets are Arrow streams (GeoArrow WKB geometry):
``geopandas.GeoDataFrame.from_arrow(fs)``, ``pyarrow.table(fs)``, polars and DuckDB
read them directly; ``FeatureSet.from_geopandas(gdf)`` goes back.
"""

from ._native import (
    AuthError,
    DataError,
    Env,
    FeatureSet,
    GpError,
    MapImage,
    Message,
    NetworkError,
    Result,
    ServerError,
    Tool,
    ToolFailedError,
    Toolbox,
    ValidationError,
    WaitTimeoutError,
    __version__,
    env,
    import_toolbox,
    import_toolbox_async,
    open_job,
    open_job_async,
)

__all__ = [
    "AuthError",
    "DataError",
    "Env",
    "FeatureSet",
    "GpError",
    "MapImage",
    "Message",
    "NetworkError",
    "Result",
    "ServerError",
    "Tool",
    "ToolFailedError",
    "Toolbox",
    "ValidationError",
    "WaitTimeoutError",
    "__version__",
    "env",
    "import_toolbox",
    "import_toolbox_async",
    "open_job",
    "open_job_async",
]
