"""The vendor registry: the only place that lists vendors by name."""

from typing import Any, Mapping

from destination_identify.errors import ConfigError
from destination_identify.vendors.base import Vendor
from destination_identify.vendors.crowdpower import CrowdPower
from destination_identify.vendors.thrivestack import Thrivestack
from destination_identify.vendors.userpilot import Userpilot
from destination_identify.vendors.zaius import Zaius

VENDORS: Mapping[str, type[Vendor]] = {cls.name: cls for cls in (CrowdPower, Zaius, Userpilot, Thrivestack)}


def vendor_from_config(options: Any) -> Vendor:
    """The configured vendor, its options checked; ConfigError says what is wrong."""
    if not isinstance(options, Mapping):
        raise ConfigError("vendor must be an object with a 'vendor' key naming the vendor")
    name = options.get("vendor")
    if not isinstance(name, str) or name not in VENDORS:
        raise ConfigError(f"vendor.vendor must be one of {', '.join(VENDORS)}")
    return VENDORS[name](options)
