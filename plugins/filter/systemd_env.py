# Copyright: Pakashop Engineering
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

# The documentation is systemd_env_value.yml beside this file (ansible-doc finds
# a filter's docs by the filter's name).

import re
from collections.abc import Mapping

from ansible.errors import AnsibleFilterError

ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
# Inside double quotes systemd's env-file.c keeps every character but these four
# (SHELL_NEED_ESCAPE), which it takes after a backslash. Only \ and " must be
# escaped for systemd, which never expands $ or ` in an env file; escaping them
# too is what systemd's own writer does, and keeps the file's meaning for a
# shell that sources it (bash's double quotes take the same four escapes).
ESCAPED = {"\\": "\\\\", '"': '\\"', "`": "\\`", "$": "\\$"}


def systemd_env_value(value, name=None):
    what = f"the env variable {name}" if name is not None else "an env value"
    if name is not None and not (isinstance(name, str) and ENV_NAME.match(name)):
        raise AnsibleFilterError(
            f"{name!r} cannot be an env variable's name: use letters, digits and _, not starting with a digit.")
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, (int, float, str)):
        text = str(value)
    elif value is None:
        raise AnsibleFilterError(f"{what} has no value (null): write '' for an empty one.")
    elif isinstance(value, Mapping):
        raise AnsibleFilterError(f"{what} is a mapping: an env value is a string, a number or a boolean.")
    elif isinstance(value, (list, tuple, set)):
        raise AnsibleFilterError(f"{what} is a list: an env value is a string, a number or a boolean.")
    else:
        raise AnsibleFilterError(
            f"{what} is a {type(value).__name__}: an env value is a string, a number or a boolean.")
    if "\0" in text:
        raise AnsibleFilterError(f"{what} contains a NUL character, which no process environment can hold.")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise AnsibleFilterError(f"{what} is not valid Unicode (systemd would drop it).") from None
    return '"' + "".join(ESCAPED.get(c, c) for c in text) + '"'


class FilterModule:
    def filters(self):
        return {"systemd_env_value": systemd_env_value}
