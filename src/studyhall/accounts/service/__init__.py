"""The accounts domain's public surface: what other domains and the web app may call.

Grouped by the topic module that holds each rule; inside accounts, modules import each other
directly, never this package.
"""

from studyhall.accounts.service.admin import list_users, restore, set_tutor_verification, suspend
from studyhall.accounts.service.closures import Closure, ClosureHandler, on_account_closed
from studyhall.accounts.service.consent import (
    CONSENT_TYPE,
    LEGAL_TEXT,
    LEGAL_TEXT_HASH,
    blocks,
    consent_age,
    decide,
    latest,
    view,
    withdraw,
)
from studyhall.accounts.service.consent import request as request_guardian_consent
from studyhall.accounts.service.consent import status as consent_status
from studyhall.accounts.service.emailed import peek
from studyhall.accounts.service.encryption import (
    EncryptionKeyError,
    KeyRing,
    new_key,
    reencrypt_rows,
)
from studyhall.accounts.service.housekeeping import erase_personal_data
from studyhall.accounts.service.oauth import ProviderTokens, disconnect, for_user, link, tokens
from studyhall.accounts.service.passwords import (
    confirm_reset,
    confirm_verification,
    request_reset,
    request_verification,
)
from studyhall.accounts.service.profiles import (
    DirectoryFilter,
    TutorTotals,
    directory,
    ensure_profile,
    record_tutor_earning,
    tutor_profile,
    update_profile,
)
from studyhall.accounts.service.ratelimit import Limit, account_key, give_back, hit
from studyhall.accounts.service.ratings import (
    RatingTotals,
    bayesian_score,
    refresh_rating,
)
from studyhall.accounts.service.security import (
    ACCESS_TOKEN_TTL,
    REFRESH_TOKEN_TTL,
    decode_access_token,
    issue_access_token,
)
from studyhall.accounts.service.users import (
    BAD_CREDENTIALS,
    IssuedTokens,
    authenticate,
    delete_account,
    get_user,
    issue_tokens,
    rotate_refresh_token,
    sign_out,
    sign_up,
    update_me,
)
from studyhall.accounts.service.wards import is_guardian, wards

__all__ = [
    "ACCESS_TOKEN_TTL",
    "BAD_CREDENTIALS",
    "CONSENT_TYPE",
    "LEGAL_TEXT",
    "LEGAL_TEXT_HASH",
    "REFRESH_TOKEN_TTL",
    "Closure",
    "ClosureHandler",
    "DirectoryFilter",
    "EncryptionKeyError",
    "IssuedTokens",
    "KeyRing",
    "Limit",
    "ProviderTokens",
    "RatingTotals",
    "TutorTotals",
    "account_key",
    "authenticate",
    "bayesian_score",
    "blocks",
    "confirm_reset",
    "confirm_verification",
    "consent_age",
    "consent_status",
    "decide",
    "decode_access_token",
    "delete_account",
    "directory",
    "disconnect",
    "ensure_profile",
    "erase_personal_data",
    "for_user",
    "get_user",
    "give_back",
    "hit",
    "is_guardian",
    "issue_access_token",
    "issue_tokens",
    "latest",
    "link",
    "list_users",
    "new_key",
    "on_account_closed",
    "peek",
    "record_tutor_earning",
    "reencrypt_rows",
    "refresh_rating",
    "request_guardian_consent",
    "request_reset",
    "request_verification",
    "restore",
    "rotate_refresh_token",
    "set_tutor_verification",
    "sign_out",
    "sign_up",
    "suspend",
    "tokens",
    "tutor_profile",
    "update_me",
    "update_profile",
    "view",
    "wards",
    "withdraw",
]
