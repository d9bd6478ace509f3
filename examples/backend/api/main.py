"""api: the product catalogue behind the gateway."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "common"))
from pakashop_service import Service  # noqa: E402

service = Service("api")
PRODUCTS = [{"id": 1, "name": "Pakashop tote", "price": 12.5},
            {"id": 2, "name": "Pakashop mug", "price": 9.0}]


@service.route("/api/products")
def products(request, body):
    return 200, {"products": PRODUCTS, "served_by": service.commit}


@service.route("/api/")
def info(request, body):
    return 200, {"service": "api", "version": service.commit}


if __name__ == "__main__":
    service.serve()
