"""deploy/Dockerfile as data, and the checks the container files share (no Docker engine here)."""

from __future__ import annotations

import contextlib
import io
import json
import re
import shlex
from dataclasses import dataclass, field

from tests.deploy.files import DEPLOY, ROOT

DOCKERFILE = DEPLOY / "Dockerfile"
DOCKERIGNORE = DEPLOY / "Dockerfile.dockerignore"
ENTRYPOINT_SH = DEPLOY / "entrypoint.sh"


@dataclass
class Instruction:
    name: str  # upper case: FROM, RUN, COPY, ...
    args: str  # the rest of the logical line, continuations joined

    def exec_form(self) -> list[str]:
        """The JSON array of ENTRYPOINT/CMD/HEALTHCHECK CMD (shell form is refused: no signals)."""
        text = self.args
        if self.name == "HEALTHCHECK":
            text = text[text.index(" CMD ") + len(" CMD "):]
        value = json.loads(text)
        assert isinstance(value, list) and all(isinstance(v, str) for v in value), text
        return value


@dataclass
class Stage:
    image: str
    name: str | None
    instructions: list[Instruction] = field(default_factory=list)

    def all(self, name: str) -> list[Instruction]:
        return [i for i in self.instructions if i.name == name]

    def last(self, name: str) -> Instruction:
        found = self.all(name)
        assert found, f"no {name} in the stage FROM {self.image}"
        return found[-1]


def parse(text: str) -> list[Stage]:
    """Stages of a Dockerfile: comments dropped, `\\` continuations joined."""
    lines, current = [], ""
    for raw in text.splitlines():
        stripped = raw.strip()
        if not current and (not stripped or stripped.startswith("#")):
            continue
        if stripped.startswith("#"):
            continue  # a comment inside a continued instruction
        if stripped.endswith("\\"):
            current += stripped[:-1] + " "
            continue
        lines.append(current + stripped)
        current = ""
    stages: list[Stage] = []
    for line in lines:
        name, _, args = line.partition(" ")
        name, args = name.upper(), args.strip()
        if name == "FROM":
            words = args.split()
            alias = words[2] if len(words) == 3 and words[1].upper() == "AS" else None
            stages.append(Stage(words[0], alias))
        elif name not in ("ARG",) or stages:
            stages[-1].instructions.append(Instruction(name, args))
    return stages


def stages() -> list[Stage]:
    return parse(DOCKERFILE.read_text(encoding="utf-8"))


def copy_parts(ins: Instruction) -> tuple[dict[str, str], list[str], str]:
    """(flags, sources, destination) of a COPY/ADD instruction in shell form."""
    words = shlex.split(ins.args)
    flags = {}
    while words and words[0].startswith("--"):
        key, _, value = words.pop(0)[2:].partition("=")
        flags[key] = value
    return flags, words[:-1], words[-1]


def _pattern(glob: str) -> re.Pattern:
    """A .dockerignore pattern as a regex: `*` and `?` stay inside one path segment."""
    out, i = "", 0
    while i < len(glob):
        if glob.startswith("**/", i):
            out, i = out + "(?:.*/)?", i + 3
        elif glob.startswith("**", i):
            out, i = out + ".*", i + 2
        else:
            out += {"*": "[^/]*", "?": "[^/]"}.get(glob[i], re.escape(glob[i]))
            i += 1
    return re.compile(out)


def ignored(path: str) -> bool:
    """True when deploy/Dockerfile.dockerignore keeps `path` out of the build context: the last
    matching line wins, and a line matching a directory matches everything under it."""
    parts = path.strip("/").split("/")
    prefixes = ["/".join(parts[:n]) for n in range(1, len(parts) + 1)]
    verdict = False
    for line in DOCKERIGNORE.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        negate, regex = line.startswith("!"), _pattern(line.lstrip("!").strip("/"))
        if any(regex.fullmatch(p) for p in prefixes):
            verdict = not negate
    return verdict


def image_env() -> dict[str, str]:
    """The final stage's ENV (key=value form), PATH excluded."""
    env: dict[str, str] = {}
    for ins in stages()[-1].all("ENV"):
        for word in shlex.split(ins.args):
            key, _, value = word.partition("=")
            if key != "PATH":
                env[key] = value
    return env


def parses(argv: list[str]) -> bool:
    """True when `roompulse ARGV...` is a valid command line of the real CLI (nothing runs)."""
    from streams.cli import build_parser

    try:
        with contextlib.redirect_stderr(io.StringIO()):
            args = build_parser().parse_args(argv)
    except SystemExit:
        return False
    return getattr(args, "func", None) is not None


def relative(path) -> str:
    return str(path.relative_to(ROOT))
