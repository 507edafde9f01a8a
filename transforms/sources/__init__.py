"""Touchpoint adapters, keyed by the folder name under the raw input (data/raw/<folder>/...)."""

from transforms.sources.base import SourceAdapter
from transforms.sources.contact_center import CALL_CENTER
from transforms.sources.intercom import CHAT
from transforms.sources.qualtrics import SURVEY
from transforms.sources.segment import APP, WEB
from transforms.sources.stripe import BILLING
from transforms.sources.zendesk import EMAIL

ADAPTERS: dict[str, SourceAdapter] = {a.name: a for a in (WEB, APP, CALL_CENTER, EMAIL, CHAT, SURVEY, BILLING)}
