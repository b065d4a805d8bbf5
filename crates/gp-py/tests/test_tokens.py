"""Token security: a user name and password get a token, and a new one whenever
it expires (the server's tokens here live 3 seconds)."""

import gp_rs as gp


def test_expired_tokens_are_refreshed(secured):
    tb = gp.import_toolbox(secured.toolbox_url("GP/Utilities"), username="alice", password="wonderland")
    # The job outlives two tokens; polls and the output need fresh ones.
    result = tb.Wait(7).wait(timeout=60)
    assert result.status == 4
    assert result.output("Elapsed") >= 7
    # Credentials never show.
    for text in (repr(tb), repr(result), repr(tb.Wait), str(result.messages)):
        assert "wonderland" not in text


def test_credentials_for_a_server_without_security_are_refused(server):
    # No token service to give them to: an error that says so, without the secret.
    try:
        gp.import_toolbox(server.toolbox_url("GP/BufferByVal"), username="alice", password="wonderland")
    except gp.AuthError as e:
        assert "token service" in str(e)
        assert "wonderland" not in str(e) and "wonderland" not in repr(e)
    else:
        raise AssertionError("expected AuthError")
