"""Pure parts of the Jenkins client: targets, job paths, credentials and error lines."""

from __future__ import annotations

import pytest

from earthly_doctor.errors import UsageError
from earthly_doctor.jenkins.client import Credentials, JenkinsError, job_path, parse_target, resolve_credentials, translate


def test_job_path_quotes_like_python_jenkins():
    assert job_path("folder/sub job/feature%2Fx") == "job/folder/job/sub%20job/job/feature%252Fx/"


@pytest.mark.parametrize(
    ("url", "root", "job", "build"),
    [
        ("https://ci.example/job/org/job/repo/job/feature%252Fx/42/", "https://ci.example/", "org/repo/feature%2Fx", "42"),
        ("http://ci:8080/jenkins/job/app/lastFailedBuild/console", "http://ci:8080/jenkins/", "app", "lastFailedBuild"),
        ("https://ci.example/view/all/job/app/", "https://ci.example/", "app", None),
        ("https://user:secret@ci.example/job/app/7/", "https://ci.example/", "app", "7"),
    ],
)
def test_parse_target_urls(url, root, job, build):
    target = parse_target(url)
    assert (target.root, target.job, target.build) == (root, job, build)


def test_parse_target_plain_name_and_bad_url():
    assert parse_target("folder/job/").job == "folder/job"
    with pytest.raises(UsageError, match="not a Jenkins job or build URL"):
        parse_target("https://user:secret@ci.example/other/")
    with pytest.raises(UsageError) as info:
        parse_target("https://user:secret@ci.example/other/")
    assert "secret" not in str(info.value)


def test_credentials_order(tmp_path):
    netrc = tmp_path / "netrc"
    netrc.write_text("machine ci.example login carol password netrc-token-123\n")
    netrc.chmod(0o600)
    base = {"JENKINS_URL": "https://ci.example/jenkins", "NETRC": str(netrc), "HOME": str(tmp_path)}
    env_creds = resolve_credentials({**base, "JENKINS_USER": "alice", "JENKINS_API_TOKEN": "env-token-123"})
    assert (env_creds.url, env_creds.user, env_creds.source) == ("https://ci.example/jenkins/", "alice", "environment")
    net = resolve_credentials(base)
    assert (net.user, net.token, net.source) == ("carol", "netrc-token-123", "netrc")
    assert "netrc-token-123" not in repr(net)
    anon = resolve_credentials({"JENKINS_URL": "https://other.example", "HOME": str(tmp_path)})
    assert anon.source == "anonymous" and anon.user is None
    with pytest.raises(UsageError, match="no Jenkins server"):
        resolve_credentials({"HOME": str(tmp_path)})


def test_broken_netrc_is_one_line_without_its_content(tmp_path):
    netrc = tmp_path / "netrc"
    netrc.write_text("machine ci.example login carol password sekrit-99\nbogus carol\n")
    with pytest.raises(UsageError) as info:
        resolve_credentials({"JENKINS_URL": "https://ci.example", "NETRC": str(netrc)})
    assert "line 2" in str(info.value) and "carol" not in str(info.value) and "sekrit" not in str(info.value)


def test_translate_maps_python_jenkins_errors():
    import jenkins

    creds = Credentials("http://127.0.0.1:9/", "alice", "tok-123456789")
    with pytest.raises(JenkinsError) as info, translate("job x", creds, 5):
        raise jenkins.JenkinsException("Error in request. Possibly authentication failed [401]: Unauthorized\n<html>")
    assert info.value.kind == "auth" and "\n" not in str(info.value)
    with pytest.raises(JenkinsError) as info, translate("job x", creds, 5):
        raise jenkins.JenkinsException("echo tok-123456789 [500]")
    assert info.value.kind == "server"
    with pytest.raises(JenkinsError) as info, translate("job x", creds, 5):
        raise jenkins.JenkinsException("weird tok-123456789")
    assert "tok-123456789" not in str(info.value)


def test_environment_token_never_goes_to_another_server(tmp_path):
    env = {"JENKINS_URL": "https://ci.example/", "JENKINS_USER": "alice", "JENKINS_API_TOKEN": "env-token-123",
           "HOME": str(tmp_path)}
    same = resolve_credentials(env, "https://ci.example:443/")
    assert same.source == "environment"
    other = resolve_credentials(env, "https://evil.example/")
    assert other.source == "anonymous" and other.token is None
    assert resolve_credentials(env, "http://ci.example/").token is None  # another scheme is another origin
