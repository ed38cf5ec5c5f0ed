"""Settings precedence, the config file's mode, registration and the command line."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys

import pytest

from nodeworks_runner import cli
from nodeworks_runner.config import RunnerConfig, load_config


def test_defaults_file_env_flags_precedence(tmp_path):
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"url": "https://file", "tags": ["a"], "concurrency": 3, "name": "from-file"}))
    env = {"NODEWORKS_RUNNER_URL": "https://env", "NODEWORKS_RUNNER_TAGS": "b, c",
           "NODEWORKS_RUNNER_NODE_PATH": os.pathsep.join(["/x", "/y"]),
           "NODEWORKS_RUNNER_SLURM_EXTRA_ARGS": "--gres=gpu:1 --comment 'two words'",
           "NODEWORKS_RUNNER_KEEP_WORKDIRS": "yes", "XDG_DATA_HOME": str(tmp_path / "data")}
    config = load_config(str(path), {"concurrency": "5"}, environ=env)
    assert config.url == "https://env" and config.tags == ["b", "c"] and config.name == "from-file"
    assert config.concurrency == 5 and config.node_path == ["/x", "/y"]
    assert config.slurm_extra_args == ["--gres=gpu:1", "--comment", "two words"]
    assert config.keep_workdirs is True
    assert config.spool_dir.startswith(config.state_dir)
    assert config.container_network == "none" and config.python == sys.executable


def test_config_file_is_readable_only_by_its_owner(tmp_path):
    config = RunnerConfig(url="https://x", token="nwr_secret", config_path=str(tmp_path / "sub" / "config.json"))
    path = config.save()
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert json.loads(path.read_text())["token"] == "nwr_secret"


def test_register_stores_the_runner_token(fake_server, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("NODEWORKS_RUNNER_CONFIG", str(tmp_path / "config.json"))
    code = cli.main(["register", "--url", fake_server.url, "--token", "nwu_good", "--name", "n1", "--tags", "a,b",
                     "--executors", "local,shell,container,slurm", "--ca-bundle", "", "--concurrency", "4"])
    assert code == 0, capsys.readouterr()
    assert fake_server.registered == [{"name": "n1", "tags": ["a", "b"],
                                       "executors": ["local", "shell", "container", "slurm"]}]
    saved = json.loads((tmp_path / "config.json").read_text())
    assert saved["token"] == fake_server.token and saved["runner_id"] == "7" and saved["concurrency"] == 4
    assert stat.S_IMODE(os.stat(tmp_path / "config.json").st_mode) == 0o600
    shown = capsys.readouterr().out
    assert fake_server.token not in shown
    assert cli.main(["config"]) == 0
    assert fake_server.token not in capsys.readouterr().out


def test_register_with_a_bad_user_token_fails_clearly(fake_server, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("NODEWORKS_RUNNER_CONFIG", str(tmp_path / "config.json"))
    assert cli.main(["register", "--url", fake_server.url, "--token", "nwu_bad", "--name", "n"]) == 1
    assert "401" in capsys.readouterr().err
    assert not (tmp_path / "config.json").exists()


def test_run_without_registration_explains_itself(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("NODEWORKS_RUNNER_CONFIG", str(tmp_path / "none.json"))
    assert cli.main(["run", "--once"]) == 1
    assert "register" in capsys.readouterr().err


def test_unreachable_server_is_retried_then_reported(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("NODEWORKS_RUNNER_CONFIG", str(tmp_path / "config.json"))
    code = cli.main(["register", "--url", "http://127.0.0.1:9", "--token", "nwu_x", "--name", "n",
                     "--retry-max", "0.1"])
    assert code == 1 and "127.0.0.1:9" in capsys.readouterr().err


def test_ca_bundle_is_used_for_tls(tmp_path):
    from nodeworks_runner.http import Client

    with pytest.raises(ValueError, match="CA bundle"):
        Client("https://x", ca_bundle=str(tmp_path / "missing.pem"))
    Client("https://x")  # the system store


def test_console_script_and_module_entry(tmp_path):
    done = subprocess.run([sys.executable, "-m", "nodeworks_runner.cli", "--version"], capture_output=True, text=True)
    assert done.returncode == 0 and "nodeworks-runner" in done.stdout
    nodes = subprocess.run([sys.executable, "-m", "nodeworks_runner.cli", "nodes"], capture_output=True, text=True,
                           env=dict(os.environ, NODEWORKS_RUNNER_CONFIG=str(tmp_path / "c.json")))
    assert "math/Power" in nodes.stdout and "shell/Command" in nodes.stdout


def test_proxy_from_the_environment_is_used(monkeypatch):
    """urllib's ProxyHandler reads http_proxy: a request goes to the proxy, not to the server."""
    import http.server
    import threading

    seen = []

    class Proxy(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            seen.append(self.path)
            body = b'{"tasks": []}'
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    proxy = http.server.HTTPServer(("127.0.0.1", 0), Proxy)
    threading.Thread(target=proxy.serve_forever, daemon=True).start()
    try:
        monkeypatch.setenv("http_proxy", "http://127.0.0.1:%d" % proxy.server_address[1])
        monkeypatch.delenv("no_proxy", raising=False)
        monkeypatch.delenv("NO_PROXY", raising=False)
        from nodeworks_runner.http import Client

        answer = Client("http://nodeworks.invalid", "nwr_x").post("/api/v1/runners/lease", {"max_tasks": 1})
        assert answer == {"tasks": []}
        assert seen == ["http://nodeworks.invalid/api/v1/runners/lease"]
    finally:
        proxy.shutdown()
        proxy.server_close()


def test_ca_bundle_makes_a_private_ca_trusted(tmp_path):
    """An HTTPS server with a self-signed certificate: refused by default, trusted with --ca-bundle."""
    import http.server
    import shutil
    import ssl
    import threading

    from nodeworks_runner.http import Client, ClientError

    if not shutil.which("openssl"):
        pytest.skip("openssl is not installed")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
                    "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True)

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            body = b'{"tasks": []}'
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(cert), str(key))
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = "https://127.0.0.1:%d" % server.server_address[1]
    try:
        with pytest.raises(ClientError, match="ca-bundle"):
            Client(url, "nwr_x").post("/api/v1/runners/lease", {})
        assert Client(url, "nwr_x", ca_bundle=str(cert)).post("/api/v1/runners/lease", {}) == {"tasks": []}
    finally:
        server.shutdown()
        server.server_close()
