"""Every failure raises a subclass of GpError that names what was wrong."""

import pytest

import gp_rs as gp


def test_unknown_tool_is_an_attribute_error(server):
    tb = gp.import_toolbox(server.toolbox_url("GP/BufferByVal"))
    with pytest.raises(AttributeError, match="BufferPoints"):
        tb.BufferPoint
    with pytest.raises(gp.ValidationError, match="did you mean"):
        tb.tool("BufferPoint")


def test_a_bad_value_names_the_parameter(server):
    tool = gp.import_toolbox(server.toolbox_url("GP/BufferByVal")).BufferPoints
    with pytest.raises(gp.ValidationError) as e:
        tool(tool.parameter_value(0), "five feet")
    assert e.value.parameter == "Distance"
    assert "Distance" in str(e.value)
    with pytest.raises(gp.ValidationError, match="takes 3 inputs"):
        tool(1, 2, 3, 4)
    with pytest.raises(gp.ValidationError, match="cannot send a object"):
        tool(object())


def test_a_failed_job_raises_with_its_messages(server):
    tool = gp.import_toolbox(server.toolbox_url("GP/Utilities")).Fail
    result = tool()
    with pytest.raises(gp.ToolFailedError) as e:
        result.wait(timeout=60)
    assert e.value.status == 5
    assert e.value.job_id == result.job_id
    assert any(m.severity == 2 for m in e.value.messages)
    assert result.status == 5
    assert result.max_severity == 2


def test_server_errors_carry_the_code(server):
    with pytest.raises(gp.ServerError) as e:
        gp.import_toolbox(f"{server.rest}/GP/NoSuchService/GPServer")
    assert e.value.code == 404


def test_network_errors(server):
    with pytest.raises(gp.NetworkError):
        gp.import_toolbox("http://127.0.0.1:9/arcgis/rest/services/GP/X/GPServer", timeout=5)
    with pytest.raises(gp.ValidationError):
        gp.import_toolbox("not a url")


def test_wait_timeout_leaves_the_job_running(server):
    result = gp.import_toolbox(server.toolbox_url("GP/Utilities")).Wait(30)
    with pytest.raises(gp.WaitTimeoutError) as e:
        result.wait(timeout=0.5)
    assert e.value.job_url == result.job_url
    assert result.refresh() in (1, 2, 3)
    assert result.cancel() in (7, 8)


def test_bad_credentials_are_an_auth_error_without_the_secret(secured):
    with pytest.raises(gp.AuthError) as e:
        gp.import_toolbox(secured.toolbox_url("GP/BufferByVal"), username="alice", password="not-the-password")
    assert "not-the-password" not in str(e.value)
    assert "not-the-password" not in repr(e.value)
    with pytest.raises(gp.AuthError) as e:
        gp.import_toolbox(secured.toolbox_url("GP/BufferByVal"), token="forged-token-123")
    assert "forged-token-123" not in str(e.value)
    with pytest.raises(gp.ValidationError, match="both"):
        gp.import_toolbox(secured.toolbox_url("GP/BufferByVal"), username="alice")


def test_errors_share_one_base():
    for cls in [
        gp.ToolFailedError,
        gp.ValidationError,
        gp.ServerError,
        gp.AuthError,
        gp.NetworkError,
        gp.WaitTimeoutError,
        gp.DataError,
    ]:
        assert issubclass(cls, gp.GpError)
        assert cls.__doc__


def test_bad_timeouts_are_refused_and_infinity_is_no_limit(server):
    result = gp.import_toolbox(server.toolbox_url("GP/Utilities")).Wait(0.01)
    for bad in (-1.0, float("nan")):
        with pytest.raises(gp.ValidationError, match="timeout"):
            result.wait(timeout=bad)
        with pytest.raises(gp.ValidationError, match="timeout"):
            gp.import_toolbox(server.toolbox_url("GP/Utilities"), timeout=bad)
    assert result.wait(timeout=float("inf")).status == 4
    assert gp.import_toolbox(server.toolbox_url("GP/Utilities"), timeout=float("inf")).tools
