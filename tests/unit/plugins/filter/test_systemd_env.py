"""pakashop.infra.systemd_env_value against systemd's EnvironmentFile= parser.

The parser here is parse_env_file_internal() of systemd's src/basic/env-file.c
(v252, Debian 12's, and the same states today), state for state: these tests
catch a quoting mistake without a host. The truth is systemd itself:
tests/integration/test_env_exact.py reads the values back from the running
service's /proc/<pid>/environ on the lab.
"""

import itertools
from pathlib import Path

import jinja2
import pytest
from ansible.errors import AnsibleFilterError
from ansible.plugins.filter.mathstuff import intersect

from ansible_collections.pakashop.infra.plugins.filter.service_instances import service_instances
from ansible_collections.pakashop.infra.plugins.filter.systemd_env import systemd_env_value
from ansible_collections.pakashop.infra.plugins.module_utils._catalog import entry

CHECKOUT = Path(__file__).resolve().parents[4]
ENV_TEMPLATE = CHECKOUT / "roles/service/templates/service.env.j2"

WHITESPACE = " \t\n\r"
NEWLINE = "\n\r"
COMMENTS = "#;"
SHELL_NEED_ESCAPE = '"\\`$'


def parse_env_file(text):
    """systemd's parse_env_file_internal(), returning {key: value} (later wins)."""
    env, key, value = {}, [], None
    last_key_ws = last_value_ws = None
    state = "PRE_KEY"

    def push(strip_value):
        k = "".join(key[:last_key_ws] if last_key_ws is not None else key)
        v = value or []
        if strip_value and last_value_ws is not None:
            v = v[:last_value_ws]
        env[k] = "".join(v)

    for c in text:
        if state == "PRE_KEY":
            if c in COMMENTS:
                state = "COMMENT"
            elif c not in WHITESPACE:
                state, last_key_ws, key = "KEY", None, [c]
        elif state == "KEY":
            if c in NEWLINE:
                state, key = "PRE_KEY", []
            elif c == "=":
                state, last_value_ws, value = "PRE_VALUE", None, None
            else:
                if c not in WHITESPACE:
                    last_key_ws = None
                elif last_key_ws is None:
                    last_key_ws = len(key)
                key.append(c)
        elif state == "PRE_VALUE":
            if c in NEWLINE:
                push(False)
                state, key, value = "PRE_KEY", [], None
            elif c == "'":
                state = "SINGLE_QUOTE_VALUE"
            elif c == '"':
                state = "DOUBLE_QUOTE_VALUE"
            elif c == "\\":
                state = "VALUE_ESCAPE"
            elif c not in WHITESPACE:
                state, value = "VALUE", (value or []) + [c]
        elif state == "VALUE":
            if c in NEWLINE:
                push(True)
                state, key, value = "PRE_KEY", [], None
            elif c == "\\":
                state, last_value_ws = "VALUE_ESCAPE", None
            else:
                if c not in WHITESPACE:
                    last_value_ws = None
                elif last_value_ws is None:
                    last_value_ws = len(value or [])
                value = (value or []) + [c]
        elif state == "VALUE_ESCAPE":
            state = "VALUE"
            if c not in NEWLINE:
                value = (value or []) + [c]
        elif state == "SINGLE_QUOTE_VALUE":
            if c == "'":
                state = "PRE_VALUE"
            else:
                value = (value or []) + [c]
        elif state == "DOUBLE_QUOTE_VALUE":
            if c == '"':
                state = "PRE_VALUE"
            elif c == "\\":
                state = "DOUBLE_QUOTE_VALUE_ESCAPE"
            else:
                value = (value or []) + [c]
        elif state == "DOUBLE_QUOTE_VALUE_ESCAPE":
            state = "DOUBLE_QUOTE_VALUE"
            if c in SHELL_NEED_ESCAPE:
                value = (value or []) + [c]
            elif c != "\n":
                value = (value or []) + ["\\", c]
        elif state == "COMMENT":
            if c == "\\":
                state = "COMMENT_ESCAPE"
            elif c in NEWLINE:
                state = "PRE_KEY"
        elif state == "COMMENT_ESCAPE":
            state = "PRE_KEY" if c in NEWLINE else "COMMENT"
    if state in ("PRE_VALUE", "VALUE", "VALUE_ESCAPE", "SINGLE_QUOTE_VALUE",
                 "DOUBLE_QUOTE_VALUE", "DOUBLE_QUOTE_VALUE_ESCAPE"):
        push(state == "VALUE")
    return env


PEM = ("-----BEGIN PRIVATE KEY-----\n"
       "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj\n"
       "MzEfYyjiWA4R4/M2bS1GB4t7NXp98C3SC6dVMvDuictGeurT8jNbvJZHtCSuYEvu\n"
       "-----END PRIVATE KEY-----\n")
TRICKY = {
    "double quotes": 'say "hi"',
    "single quotes": "it's 'quoted'",
    "unbalanced quotes": "\"'\"",
    "dollar": "cost $5",
    "braced variable": "${HOME}/x and $HOME",
    "percent": "100% of %%",
    "specifier": "%i %n %h",
    "hash": "#not a comment",
    "semicolon": ";not a comment either",
    "backtick": "`uname`",
    "backslashes": "C:\\path\\to \\n \\t \\\\ \\$ \\\"",
    "trailing backslash": "ends with \\",
    "backslash then newline": "a\\\nb",
    "leading and trailing spaces": "  padded  ",
    "leading and trailing tabs": "\t\ttabbed\t",
    "newline": "two\nlines",
    "trailing newline": "ends with a newline\n",
    "crlf": "windows\r\nline\r\n",
    "lone carriage return": "a\rb",
    "control characters": "\x1b[0m\x7f\x01",
    "unicode": "naïve € 😀 日本",
    "empty": "",
    "only a space": " ",
    "equals signs": "a=b==c",
    "PEM key": PEM,
    "JSON blob": '{"user": "app", "password": "p@$$w0rd\\"\\n", "list": [1, "two"]}',
    "everything": " \t\"'$${X}%i#;\\`\r\n \\",
}


@pytest.mark.parametrize("value", TRICKY.values(), ids=TRICKY.keys())
def test_systemd_reads_the_value_back_exactly(value):
    line = f"KEY={systemd_env_value(value, 'KEY')}\n"
    assert parse_env_file(line) == {"KEY": value}


def test_values_in_one_file_do_not_run_into_each_other():
    text = "".join(f"K{i}={systemd_env_value(v)}\n" for i, v in enumerate(TRICKY.values()))
    assert parse_env_file(text) == {f"K{i}": v for i, v in enumerate(TRICKY.values())}


def test_the_parser_port_does_what_systemd_does_to_a_raw_value():
    # what the role wrote before: systemd swallows the backslash and the newline ends the value
    assert parse_env_file("KEY=a\\nb\nc\n") == {"KEY": "anb"}
    assert parse_env_file("KEY=  padded  \n") == {"KEY": "padded"}
    assert parse_env_file('KEY="a\\xb"') == {"KEY": "a\\xb"}


@pytest.mark.parametrize("value, text", [(8080, "8080"), (0, "0"), (-1, "-1"), (1.5, "1.5"),
                                         (True, "true"), (False, "false")])
def test_numbers_and_booleans_are_written_as_yaml_spells_them(value, text):
    assert parse_env_file(f"KEY={systemd_env_value(value, 'KEY')}") == {"KEY": text}


@pytest.mark.parametrize("value, says", [
    ("before\0after", "the env variable API_TOKEN contains a NUL character"),
    ({"a": 1}, "the env variable API_TOKEN is a mapping"),
    (["a"], "the env variable API_TOKEN is a list"),
    (None, "the env variable API_TOKEN has no value (null)"),
    ("\udc80", "the env variable API_TOKEN is not valid Unicode"),
])
def test_a_value_no_env_can_hold_is_refused_naming_the_variable_not_the_value(value, says):
    with pytest.raises(AnsibleFilterError) as refused:
        systemd_env_value(value, "API_TOKEN")
    assert str(refused.value).startswith(says)
    assert "before" not in str(refused.value) and "after" not in str(refused.value)


@pytest.mark.parametrize("name", ["9LIVES", "MY-VAR", "MY VAR", "", "A=B", "É", "A\nB"])
def test_a_name_systemd_would_drop_is_refused(name):
    with pytest.raises(AnsibleFilterError, match="cannot be an env variable's name"):
        systemd_env_value("x", name)


@pytest.mark.parametrize("name", ["A", "_", "api_token", "PAKASHOP_UPSTREAMS_API", "X9"])
def test_valid_names_pass(name):
    assert systemd_env_value("x", name) == '"x"'


def render_env_template(service_config, catalog=None, groups=None, hostvars=None):
    """The role's template as the role renders it: service_spec is the entry with its defaults."""
    environment = jinja2.Environment(trim_blocks=True, undefined=jinja2.StrictUndefined)
    environment.filters.update({
        "pakashop.infra.systemd_env_value": systemd_env_value, "intersect": intersect,
        "pakashop.infra.service_instances": service_instances, "product": itertools.product,
        "extract": lambda item, container, *more: container[item] if not more else container[item][more[0]]})
    return environment.from_string(ENV_TEMPLATE.read_text()).render(
        ansible_managed="Ansible managed", service_name="moderation", service_environment="staging",
        service_log_level="info", service_spec=entry({"moderation": service_config}, "moderation"),
        service_catalog=catalog or {}, groups=groups or {}, hostvars=hostvars or {})


def test_the_role_s_env_file_carries_every_value_exactly():
    env = {f"ENV_{i}": v for i, v in enumerate(TRICKY.values())}
    secrets = {f"SECRET_{i}": v for i, v in enumerate(TRICKY.values())}
    catalog = {"api": {"port": 8100, "instances": 2}}
    rendered = render_env_template(
        {"env": env, "secrets": secrets, "upstreams": ["api"]}, catalog,
        groups={"service_api": ["stg-2", "stg-1"], "staging": ["stg-1", "stg-2"]},
        hostvars={"stg-1": {"ansible_host": "10.0.0.11"}, "stg-2": {"ansible_host": "10.0.0.12"}})
    assert parse_env_file(rendered) == {
        "PAKASHOP_SERVICE": "moderation", "PAKASHOP_ENVIRONMENT": "staging", "LOG_LEVEL": "info",
        "PAKASHOP_UPSTREAMS_API": "10.0.0.11:8100,10.0.0.11:8101,10.0.0.12:8100,10.0.0.12:8101",
        **env, **secrets}
