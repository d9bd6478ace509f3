#!/usr/bin/env bash
# ansible-test sanity on a clean copy of the tracked files, laid out as
# ansible_collections/pakashop/infra (ansible-test needs that path).
set -euo pipefail
checkout=$(cd "$(dirname "$0")/../.." && pwd)
venv=$checkout/.venv
python=$venv/bin/python
version=$("$python" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')

# ansible-test bootstraps pip in its sanity venvs from a cached get-pip script.
cache=$HOME/.ansible/test/cache
mkdir -p "$cache"
pip=$("$python" - <<'PY'
from ansible_test._internal.python_requirements import get_venv_packages
from ansible_test._internal.host_configs import NativePythonConfig
import sys
print(get_venv_packages(NativePythonConfig(version=f"{sys.version_info[0]}.{sys.version_info[1]}"))["pip"])
PY
)
install -m 0644 "$checkout/tests/sanity/bootstrap_pip.py" "$cache/get_pip_${pip//./_}.py"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
tree=$work/ansible_collections/pakashop/infra
mkdir -p "$tree"
git -C "$checkout" ls-files -z --cached --others --exclude-standard \
  | (cd "$checkout" && xargs -0 cp -a --parents -t "$tree")
cd "$tree"
PATH=$venv/bin:$PATH ansible-test sanity --local --python "$version" --requirements \
  --color no --exclude lab/ --exclude examples/ --exclude tests/sanity/bootstrap_pip.py "$@"
