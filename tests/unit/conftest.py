"""Unit tests load the checkout as the collection pakashop.infra, the way
ansible-test units does: through Ansible's collection finder, pointed at the
link that `make venv` creates in .cache/collections."""

from pathlib import Path

from ansible.utils.collection_loader._collection_finder import _AnsibleCollectionFinder

COLLECTIONS = Path(__file__).resolve().parents[2] / ".cache/collections"
_AnsibleCollectionFinder(paths=[str(COLLECTIONS)])._install()
