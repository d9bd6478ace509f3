"""Takes the place of get-pip.py for ansible-test, whose download host is not
reachable from every CI machine: pip from the standard library's ensurepip,
then the same `pip install` get-pip would run, from the package index."""

import subprocess
import sys

subprocess.check_call([sys.executable, "-m", "ensurepip", "--upgrade", "--default-pip"],
                      stdout=subprocess.DEVNULL)
requested = [arg for arg in sys.argv[1:] if arg not in ("--no-setuptools", "--no-wheel")]
subprocess.check_call([sys.executable, "-m", "pip", "install", "--disable-pip-version-check",
                       *requested])
