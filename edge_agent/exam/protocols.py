"""Exam protocols: named, ordered lists of the auscultation sites the config already knows."""

from __future__ import annotations

from typing import Final, get_args

from edge_agent.config import AuscultationSite
from edge_agent.exam.errors import UnknownProtocolError, UnknownSiteError

KNOWN_SITES: Final[tuple[str, ...]] = get_args(AuscultationSite)
MAX_SITES = 24  # a custom protocol longer than this is a typing accident, not an exam

# Valve areas in the order they are usually auscultated (aortic, pulmonic, tricuspid, mitral:
# "All Physicians Take Money"), then the chest front top to bottom, then the back and sides.
HEART_4: Final = ("aortic", "pulmonic", "tricuspid", "mitral")
LUNG_ANTERIOR: Final = (
    "lung-right-upper",
    "lung-left-upper",
    "lung-right-lower",
    "lung-left-lower",
)
# The config knows two posterior points; the lateral bases complete a lying or sitting back exam.
LUNG_POSTERIOR: Final = (
    "lung-right-posterior",
    "lung-left-posterior",
    "lung-right-lateral",
    "lung-left-lateral",
)
BUILT_IN: Final[dict[str, tuple[str, ...]]] = {
    "heart-4": HEART_4,
    "lung-anterior": LUNG_ANTERIOR,
    "lung-posterior": LUNG_POSTERIOR,
    "full": (*HEART_4, "trachea", *LUNG_ANTERIOR, *LUNG_POSTERIOR),
}
CUSTOM = "custom"


def check_site(site: str) -> str:
    if site not in KNOWN_SITES:
        raise UnknownSiteError(
            f"unknown auscultation site {site!r}; known: {', '.join(KNOWN_SITES)}",
            "unknown_site",
            site=site,
        )
    return site


def resolve_protocol(name: str, custom_sites: list[str] | tuple[str, ...] = ()) -> tuple[str, ...]:
    """The ordered sites of a built-in protocol, or of `custom` with `custom_sites`."""
    if name in BUILT_IN:
        if custom_sites:
            raise UnknownProtocolError(f"protocol {name!r} is built in: give no site list")
        return BUILT_IN[name]
    if name != CUSTOM:
        raise UnknownProtocolError(
            f"unknown protocol {name!r}; choose {', '.join(BUILT_IN)} or {CUSTOM} with sites",
            "unknown_protocol",
        )
    sites = tuple(check_site(s.strip()) for s in custom_sites if s.strip())
    if not sites:
        raise UnknownProtocolError("a custom protocol needs at least one site", "no_site")
    if len(sites) > MAX_SITES:
        raise UnknownProtocolError(
            f"a custom protocol has at most {MAX_SITES} sites", "too_many_sites", max=MAX_SITES
        )
    if len(set(sites)) != len(sites):
        raise UnknownProtocolError("a custom protocol lists each site once", "repeated_site")
    return sites
