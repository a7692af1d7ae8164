"""The domain's ``CredentialsWire`` port: Versions and Credentials objects as each OCPI version writes them."""

from collections.abc import Sequence
from typing import Any

from pydantic import ValidationError

from ocpi_commands.domain.credentials import PartnerCredentials
from ocpi_commands.domain.model import CredentialsRole, Endpoint
from ocpi_commands.ocpi import dialects


def _problems(exc: ValidationError) -> str:
    return "; ".join(f"{'.'.join(map(str, e['loc'])) or 'data'}: {e['msg']}" for e in exc.errors()[:3])


class OcpiCredentialsWire:
    supported_versions: Sequence[str] = dialects.SUPPORTED_VERSIONS

    def __init__(self, role_in_2_1_1: str = "EMSP"):
        # 2.1.1 Credentials carry no role: a partner of a CPO is an eMSP (and the other way round).
        self.role_in_2_1_1 = role_in_2_1_1

    def raw_token(self, version: str) -> bool:
        return version in dialects.SUPPORTED_VERSIONS and dialects.for_version(version).raw_token

    def parse_versions(self, data: Any) -> list[tuple[str, str]]:
        """``[{version, url}]``; 2.1.1's text describes a ``versions`` property, its examples a bare list."""
        if isinstance(data, dict) and isinstance(data.get("versions"), list):
            data = data["versions"]
        if not isinstance(data, list) or not data:
            raise ValueError("data is not a list of versions")
        found = []
        for entry in data:
            if (
                not isinstance(entry, dict)
                or not isinstance(entry.get("version"), str)
                or not isinstance(entry.get("url"), str)
            ):
                raise ValueError("each version needs a version and a url")
            found.append((entry["version"], entry["url"]))
        return found

    def parse_endpoints(self, version: str, data: Any) -> list[Endpoint]:
        if not isinstance(data, dict) or not isinstance(data.get("endpoints"), list):
            raise ValueError("data is not a version details object")
        if data.get("version") not in (None, version):
            raise ValueError(f"the details are of version {data.get('version')}, not {version}")
        endpoints = []
        for entry in data["endpoints"]:
            if (
                not isinstance(entry, dict)
                or not isinstance(entry.get("identifier"), str)
                or not isinstance(entry.get("url"), str)
            ):
                raise ValueError("each endpoint needs an identifier and a url")
            role = entry.get("role") if version != "2.1.1" else None
            endpoints.append(Endpoint(identifier=entry["identifier"], role=role, url=entry["url"]))
        return endpoints

    def parse_credentials(self, version: str, data: Any) -> PartnerCredentials:
        try:
            if version == "2.1.1":
                from ocpi_commands.ocpi.v2_1_1.credentials import Credentials as Credentials211

                return Credentials211.model_validate(data).to_domain(self.role_in_2_1_1)
            if version == "2.3.0":
                from ocpi_commands.ocpi.v2_3_0.credentials import Credentials as Credentials230

                return Credentials230.model_validate(data).to_domain()
            from ocpi_commands.ocpi.v2_2_1.credentials import Credentials as Credentials221

            return Credentials221.model_validate(data).to_domain()
        except ValidationError as exc:
            raise ValueError(_problems(exc)) from None

    def credentials_body(self, version: str, token: str, url: str, roles: Sequence[CredentialsRole]) -> Any:
        if version == "2.1.1":
            from ocpi_commands.ocpi.v2_1_1.credentials import body
        elif version == "2.3.0":
            from ocpi_commands.ocpi.v2_3_0.credentials import body
        else:
            from ocpi_commands.ocpi.v2_2_1.credentials import body
        return body(token, url, list(roles))
