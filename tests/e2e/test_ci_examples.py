"""The CI examples run as written: each example's shell steps, in order, on a fresh clone.

For each of examples/github-actions.yml and examples/gitlab-ci.yml the test plays the CI:

- the install source is a fresh `git clone` of the repository this test runs from, handed
  to the example's one install variable (``GOPUSH_INSTALL=git+file://CLONE@COMMIT``), and
  the example's own `pip install` line installs it into a new virtual environment (the
  stand-in for `actions/setup-python` / the `python:3.12` image);
- the checkout is a fresh `git clone` of a tagged Go module (a real git repository), at
  the tag, with all history (fetch-depth 0 / GIT_DEPTH 0);
- the environment is what the CI sets (GITHUB_* / CI_* variables; ACTIONS_ID_TOKEN_REQUEST_*
  pointing at the fake GitHub Actions token endpoint of tests/oidc_issuer.py when the job
  has `id-token: write`; each `id_tokens:` variable minted by the test issuer with the
  `aud` the example asks for), the example's `env:`/`variables:`, and over them only the
  values the example tells its reader to set (install source, repository, API host, org);
- `gopush serve` trusts the test issuer for the example's service slug, and the real go
  then downloads the pushed module with the `h1:` the push reported: from tag to `go get`.

Every `run:` line is executed as the CI would (GitHub: ``bash -e``; GitLab: one script
under ``set -eo pipefail``); a step the test cannot play (an unknown `uses:`, an expression
other than ``${{ secrets.X }}``/``${{ vars.X }}``) fails the test rather than being skipped.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from gitrepo import GitRepo
from gotool import GoError, GoOracle
from oidc_issuer import OidcIssuer
from server.conftest import KEY, Served, start_serve

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
MODULE = "example.com/widgets"
TAG = "v1.0.0"
REPOSITORY = "acme/widgets"  # the registry repository, and the CI project's path
STEP_TIMEOUT = 600  # seconds; a pip install of gopush from a clone takes well under a minute
EXPRESSION = re.compile(r"\$\{\{\s*(secrets|vars)\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")


# -- the pieces the CI provides ---------------------------------------------------------------


@pytest.fixture(scope="module")
def project_clone(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A fresh clone of the repository this test runs from, and its HEAD commit."""
    dest = tmp_path_factory.mktemp("gopush-clone") / "gopush"
    subprocess.run(["git", "clone", "--quiet", "--no-local", str(ROOT), str(dest)],
                   check=True, capture_output=True)
    head = subprocess.run(["git", "-C", str(dest), "rev-parse", "HEAD"], check=True,
                          capture_output=True, text=True).stdout.strip()
    return dest, head


def tagged_module(path: Path) -> GitRepo:
    """A Go module in a git repository, tagged TAG."""
    repo = GitRepo(path)
    repo.commit("release", {"go.mod": f"module {MODULE}\n\ngo 1.21\n",
                            "widgets.go": "package widgets\n\n// N counts widgets.\nconst N = 3\n",
                            "LICENSE": "MIT\n"})
    repo.git("tag", TAG)
    return repo


def checkout(module: GitRepo, workspace: Path) -> None:
    """What actions/checkout (fetch-depth 0) and GitLab's clone (GIT_DEPTH 0) do for a tag
    push: a full clone, detached at the tag."""
    subprocess.run(["git", "clone", "--quiet", "--no-local", str(module.path), str(workspace)],
                   check=True, capture_output=True)
    subprocess.run(["git", "-C", str(workspace), "checkout", "--quiet", "--detach", TAG],
                   check=True, capture_output=True)


def new_python(where: Path) -> Path:
    """A new virtual environment (setup-python / the python image); return its bin dir."""
    subprocess.run([sys.executable, "-m", "venv", str(where)], check=True, capture_output=True)
    return where / "bin"


def base_environ(home: Path, ca_cert: Path) -> dict[str, str]:
    """A clean process environment: no variable of the developer's, no gopush setting.

    SSL_CERT_FILE trusts the test CA, as a runner trusts the public CAs that sign GitHub's
    and GitLab's token endpoints; the pip settings of this machine (a local wheel index)
    pass through, as a runner's network would.
    """
    env = {"PATH": os.environ["PATH"], "HOME": str(home), "LANG": "C.UTF-8",
           "SSL_CERT_FILE": str(ca_cert), "NO_PROXY": "127.0.0.1,localhost",
           "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": str(home / ".gitconfig"),
           "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    env.update({k: v for k, v in os.environ.items() if k.startswith("PIP_")})
    return env


def expand(value: Any, secrets: dict[str, str], variables: dict[str, str]) -> str:
    """Return a YAML env value with ``${{ secrets.X }}`` / ``${{ vars.X }}`` replaced; any
    other expression fails the test (the example would not run as written here)."""
    text = str(value)
    text = EXPRESSION.sub(lambda m: (secrets if m[1] == "secrets" else variables)[m[2]], text)
    assert "${{" not in text, f"an expression the test cannot play: {text}"
    return text


def run_shell(script: str, cwd: Path, env: dict[str, str], flags: tuple[str, ...]) -> str:
    """Run ``script`` with bash ``flags`` as the CI does; fail the test with its output."""
    proc = subprocess.run(["bash", "--noprofile", "--norc", *flags, "-c", script], cwd=cwd,
                          env=env, capture_output=True, text=True, timeout=STEP_TIMEOUT,
                          check=False)
    assert proc.returncode == 0, (f"step failed ({proc.returncode}): {script}\n"
                                  f"stdout: {proc.stdout[-3000:]}\nstderr: {proc.stderr[-3000:]}")
    return proc.stdout + proc.stderr


def overrides(env: dict[str, str], install: str, api_host: str) -> dict[str, str]:
    """The values the example tells its reader to set, each required to be there."""
    wanted = {"GOPUSH_INSTALL": install, "GOPUSH_REPOSITORY": REPOSITORY,
              "GOPUSH_API_HOST": api_host}
    for name in wanted:
        assert name in env, f"the example no longer sets {name}: update this test's overrides"
    if "GOPUSH_OIDC_ORG" in env:  # keyless: the org is the repository's owner namespace
        wanted["GOPUSH_OIDC_ORG"] = REPOSITORY.split("/")[0]
    return wanted


# -- the two CIs --------------------------------------------------------------------------------


def play_github_job(job: dict[str, Any], workflow_env: dict[str, Any], workdir: Path,
                    module: GitRepo, environ: dict[str, str], issuer: OidcIssuer,
                    install: str, api_host: str, secrets: dict[str, str]) -> list[str]:
    """Play one GitHub Actions job's steps in order; return each run step's output."""
    workspace = workdir / "workspace"
    ci = {**environ, "CI": "true", "GITHUB_ACTIONS": "true", "GITHUB_REF": f"refs/tags/{TAG}",
          "GITHUB_REF_NAME": TAG, "GITHUB_REF_TYPE": "tag", "GITHUB_REPOSITORY": REPOSITORY,
          "GITHUB_REPOSITORY_OWNER": REPOSITORY.split("/")[0], "GITHUB_EVENT_NAME": "push",
          "GITHUB_WORKSPACE": str(workspace), "RUNNER_TEMP": str(workdir / "runner-temp")}
    if (job.get("permissions") or {}).get("id-token") == "write":
        ci.update({k: v for k, v in issuer.actions_environ().items()
                   if k.startswith("ACTIONS_ID_TOKEN_REQUEST_")})
    variables = {"GOPUSH_USE_API_KEY": "true" if secrets else "false"}
    declared = {k: expand(v, secrets, variables)
                for k, v in {**workflow_env, **(job.get("env") or {})}.items()}
    declared.update(overrides(declared, install, api_host))
    outputs = []
    for step in job["steps"]:
        uses = step.get("uses", "")
        if uses.startswith("actions/checkout@"):
            assert (step.get("with") or {}).get("fetch-depth") == 0
            checkout(module, workspace)
        elif uses.startswith("actions/setup-python@"):
            ci["PATH"] = f"{new_python(workdir / 'python')}:{ci['PATH']}"
        elif uses:
            pytest.fail(f"a step the test cannot play: uses {uses}")
        else:
            env = {**ci, **declared, **{k: expand(v, secrets, variables)
                                        for k, v in (step.get("env") or {}).items()}}
            outputs.append(run_shell(step["run"], workspace, env, ("-e",)))
    return outputs


def play_gitlab_job(job: dict[str, Any], workdir: Path, module: GitRepo,
                    environ: dict[str, str], issuer: OidcIssuer, install: str,
                    api_host: str) -> str:
    """Play one GitLab CI job: id_tokens minted, variables set, before_script and script as
    one shell script under ``set -eo pipefail``; return its output."""
    project = workdir / "project"
    checkout(module, project)
    ci = {**environ, "CI": "true", "GITLAB_CI": "true", "CI_COMMIT_TAG": TAG,
          "CI_COMMIT_REF_NAME": TAG, "CI_PROJECT_PATH": REPOSITORY,
          "CI_PROJECT_DIR": str(project), "CI_SERVER_URL": "https://gitlab.example.test",
          "PATH": f"{new_python(workdir / 'python')}:{environ['PATH']}"}
    for name, spec in (job.get("id_tokens") or {}).items():
        ci[name] = issuer.sign(gitlab_claims(issuer, spec["aud"]))
    declared = {k: str(v) for k, v in (job.get("variables") or {}).items()}
    declared.update(overrides(declared, install, api_host))
    lines = [*job.get("before_script", []), *job["script"]]
    return run_shell("\n".join(lines), project, {**ci, **declared}, ("-e", "-o", "pipefail"))


def gitlab_claims(issuer: OidcIssuer, audience: str) -> dict[str, Any]:
    """The claims of a GitLab ID token for a tag pipeline of REPOSITORY: the test issuer's
    registered claims (iss, jti, iat, nbf, exp), GitLab's own in place of GitHub's."""
    registered = {k: v for k, v in issuer.claims().items()
                  if k in ("iss", "jti", "iat", "nbf", "exp")}
    return {**registered, "aud": audience, "project_path": REPOSITORY,
            "namespace_path": REPOSITORY.split("/")[0], "ref": TAG, "ref_type": "tag",
            "ref_protected": "true", "pipeline_source": "push",
            "sub": f"project_path:{REPOSITORY}:ref_type:tag:ref:{TAG}"}


# -- the registry and the consumer -------------------------------------------------------------


def trusted_publishers(issuer: OidcIssuer, service: str, audience: str,
                       claims: dict[str, str], patterns: dict[str, str]) -> str:
    """Return `gopush serve --config` TOML trusting ``issuer`` for ``service``, pushing to
    REPOSITORY only, when ``claims`` match exactly and ``patterns`` as globs."""
    def table(values: dict[str, str]) -> str:
        return "".join(f"{name} = {json.dumps(value)}\n" for name, value in values.items())

    return (f"[[trusted_publishers]]\nissuer = {json.dumps(issuer.url)}\n"
            f"audience = {json.dumps(audience)}\nservice = {json.dumps(service)}\n"
            f"repositories = [{json.dumps(REPOSITORY)}]\n"
            f"[trusted_publishers.claims]\n{table(claims)}"
            f"[trusted_publishers.claim_patterns]\n{table(patterns)}")


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Callable[..., Served]]:
    """Return a starter of `gopush serve` (tests/server's); all are stopped after the test."""
    started: list[Served] = []

    def start(*args: str, env: dict[str, str]) -> Served:
        started.append(start_serve(tmp_path / f"data{len(started)}", *args, env=env,
                                   new_repos=False))
        return started[-1]

    yield start
    for served in started:
        served.stop()


def start_registry(serve: Callable[..., Served], ca_cert: Path,
                   publishers: Path | None = None, visibility: str = "public") -> Served:
    """Start `gopush serve` with REPOSITORY ``visibility`` (public or private) and the
    trusted ``publishers`` config."""
    config = ("--config", str(publishers)) if publishers is not None else ()
    return serve("--repo", f"{REPOSITORY}:{visibility}", *config,
                 env={"SSL_CERT_FILE": str(ca_cert)})


def trusting(workdir: Path, issuer: OidcIssuer, service: str, audience: str,
             claims: dict[str, str], patterns: dict[str, str]) -> Path:
    """Write the `gopush serve --config` file trusting ``issuer`` for ``service``."""
    config = workdir / "serve.toml"
    config.write_text(trusted_publishers(issuer, service, audience, claims, patterns))
    return config


def go_get(go: GoOracle, goproxy: str) -> str:
    """`go get MODULE@TAG` in a new consumer module through ``goproxy``; return its go.sum
    line for the zip's h1:."""
    assert go.run(["mod", "init", "example.com/consumer"]).returncode == 0
    got = go.run(["get", f"{MODULE}@{TAG}"], GOPROXY=goproxy, GOFLAGS="-modcacherw")
    assert got.returncode == 0, got.stderr
    sums = (go.work / "go.sum").read_text().splitlines()
    return next(line.split()[2] for line in sums if line.startswith(f"{MODULE} {TAG} h1:"))


def pushed_sum(workdir: Path) -> str:
    """The h1: the push reported in push.json (one module's document)."""
    doc = json.loads((workdir / "push.json").read_text())
    assert doc["module"] == MODULE and doc["version"] == TAG, doc
    return str(doc["sum"])


# -- the tests ----------------------------------------------------------------------------------


@pytest.mark.parametrize("visibility", ["public", "private"])
def test_github_actions_example_keyless_then_go_get(
        project_clone: tuple[Path, str], oidc_issuer: OidcIssuer, serve: Any, go: GoOracle,
        test_ca: Any, tmp_path: Path, visibility: str) -> None:
    """examples/github-actions.yml, job `publish` (keyless): install from the clone, build,
    push with the job's ID token (no key anywhere), verify; go then gets the module with
    the pushed h1:. The service slug, audience and permissions are the example's own.

    Public: verify reads anonymously, so the one ID token asked for is the push's. Private:
    verify's anonymous read is refused, so it asks GitHub for a fresh ID token (the push's
    is spent) and reads with the key exchanged for it, and go without credentials is
    refused (the repository is private indeed)."""
    workflow = yaml.safe_load((EXAMPLES / "github-actions.yml").read_text())
    job = workflow["jobs"]["publish"]
    assert job["permissions"]["id-token"] == "write"
    service = job["env"]["GOPUSH_OIDC_SERVICE"]
    served = start_registry(serve, test_ca.ca_cert, trusting(
        tmp_path, oidc_issuer, service, "cloudsmith", {"repository": REPOSITORY},
        {"ref": "refs/tags/v*"}), visibility)
    oidc_issuer.actions_claims = {"repository": REPOSITORY, "ref": f"refs/tags/{TAG}"}
    clone, head = project_clone
    module = tagged_module(tmp_path / "module")
    outputs = play_github_job(job, workflow.get("env") or {}, tmp_path, module,
                              base_environ(tmp_path / "home", test_ca.ca_cert), oidc_issuer,
                              f"git+{clone.as_uri()}@{head}", served.url, secrets={})
    exchanges = 1 if visibility == "public" else 2  # the push's; and verify's, when private
    assert oidc_issuer.audiences_requested() == ["cloudsmith"] * exchanges
    h1 = pushed_sum(tmp_path / "workspace")
    assert "verify" in job["steps"][-1]["run"] and "identical" in outputs[-1].lower()
    if visibility == "public":
        assert go_get(go, served.goproxy(REPOSITORY)) == h1
    else:  # really private: go, with no credentials, is refused (over plain http go sends
        # none: verify's download with the exchanged key is the consumer's read here)
        with pytest.raises(GoError) as refused:
            go.download(MODULE, TAG, GOPROXY=served.goproxy(REPOSITORY))
        assert "401" in str(refused.value) or "403" in str(refused.value), refused.value
    for output in outputs:
        assert oidc_issuer.actions_token not in output


def test_github_actions_example_api_key_job(
        project_clone: tuple[Path, str], oidc_issuer: OidcIssuer, serve: Any, go: GoOracle,
        test_ca: Any, tmp_path: Path) -> None:
    """The API-key job beside it: the key from `${{ secrets.GOPUSH_API_KEY }}`, no ID token
    asked for; go gets the module with the pushed h1:."""
    workflow = yaml.safe_load((EXAMPLES / "github-actions.yml").read_text())
    job = workflow["jobs"]["publish-with-api-key"]
    assert "id-token" not in (job.get("permissions") or {})
    served = start_registry(serve, test_ca.ca_cert)
    clone, head = project_clone
    module = tagged_module(tmp_path / "module")
    play_github_job(job, workflow.get("env") or {}, tmp_path, module,
                    base_environ(tmp_path / "home", test_ca.ca_cert), oidc_issuer,
                    f"git+{clone.as_uri()}@{head}", served.url,
                    secrets={"GOPUSH_API_KEY": KEY})
    assert oidc_issuer.audiences_requested() == []
    assert go_get(go, served.goproxy(REPOSITORY)) == pushed_sum(tmp_path / "workspace")


def test_gitlab_example_keyless_then_go_get(
        project_clone: tuple[Path, str], oidc_issuer: OidcIssuer, serve: Any, go: GoOracle,
        test_ca: Any, tmp_path: Path) -> None:
    """examples/gitlab-ci.yml: the `id_tokens:` variable minted by the test issuer with the
    example's `aud`, install from the clone, build, keyless push; go then gets the module
    with the pushed h1:."""
    pipeline = yaml.safe_load((EXAMPLES / "gitlab-ci.yml").read_text())
    job = pipeline["publish-go-module"]
    (token_var, spec), = job["id_tokens"].items()
    assert token_var in ("GOPUSH_OIDC_TOKEN", "CLOUDSMITH_OIDC_TOKEN")
    service = job["variables"]["GOPUSH_OIDC_SERVICE"]
    served = start_registry(serve, test_ca.ca_cert, trusting(
        tmp_path, oidc_issuer, service, spec["aud"],
        {"project_path": REPOSITORY, "ref_type": "tag"}, {"ref": "v*"}))
    clone, head = project_clone
    module = tagged_module(tmp_path / "module")
    output = play_gitlab_job(job, tmp_path, module,
                             base_environ(tmp_path / "home", test_ca.ca_cert), oidc_issuer,
                             f"git+{clone.as_uri()}@{head}", served.url)
    project = tmp_path / "project"
    for artifact in job["artifacts"]["paths"]:
        assert (project / artifact).exists(), artifact
    assert go_get(go, served.goproxy(REPOSITORY)) == pushed_sum(project)
    assert "Traceback" not in output
