"""The one error type of the profile package: bad subscriber data or a package that is not SAIP."""

from openrsp.errors import InputError


class ProfileError(InputError):
    """Subscriber data that cannot go into a profile, or bytes that are not a profile package."""
