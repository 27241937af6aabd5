"""Load the one ASL file (statemachine/pipeline.asl.json) with its substitutions.

CDK and the local runtime both call ``render``: numbers are substituted here
(the file stays valid JSON with ``"${MapMaxConcurrency}"`` as a string), ARNs
are left as ``${...}`` for CloudFormation's DefinitionSubstitutions on AWS, or
filled here for the local runtime.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

ASL_PATH = Path(__file__).resolve().parents[2] / "statemachine" / "pipeline.asl.json"

ARN_PLACEHOLDERS = (
    "ListNewFunctionArn",
    "TransformFunctionArn",
    "LoadFunctionArn",
    "NotifyFunctionArn",
    "AlertTopicArn",
)
NUMBER_PLACEHOLDERS = ("MapMaxConcurrency",)
_PLACEHOLDER = re.compile(r"\$\{(\w+)\}")


def asl_text(path: Path = ASL_PATH) -> str:
    return path.read_text(encoding="utf-8")


def render(
    numbers: dict[str, int],
    arns: dict[str, str] | None = None,
    path: Path = ASL_PATH,
) -> str:
    """The definition with numbers filled in and, when given, the ARNs too.

    Raises KeyError naming any placeholder that is left without a value when
    ``arns`` is given, so a typo fails loudly instead of at execution time.
    """
    text = asl_text(path)
    for name in NUMBER_PLACEHOLDERS:
        text = text.replace(f'"${{{name}}}"', str(int(numbers[name])))
    if arns is not None:
        missing = sorted(set(_PLACEHOLDER.findall(text)) - set(arns))
        if missing:
            raise KeyError(f"no value for ASL placeholders: {', '.join(missing)}")
        text = _PLACEHOLDER.sub(lambda m: arns[m.group(1)], text)
    json.loads(text)  # still valid JSON
    return text


def placeholders(path: Path = ASL_PATH) -> set[str]:
    return set(_PLACEHOLDER.findall(asl_text(path)))
