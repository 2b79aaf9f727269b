"""A third-party check as a plugin author would write it: its own code, a published fact and a declared cause."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from earthly_doctor.check import Check, CheckDoc, Published
from earthly_doctor.context import Context
from earthly_doctor.model import CauseRule, Confidence, Evidence, Finding, Status, Verdict


@dataclass(frozen=True)
class CertState(Published):
    code = "ACME1"
    days_left: int | None = None


def _expired(findings: Sequence[Finding]) -> Verdict | None:
    for finding in findings:
        state = CertState.of(finding)
        if state is not None and finding.status == Status.FAIL:
            return Verdict("acme:buildkitd-cert-expired", f"buildkitd's certificate expired {-(state.days_left or 0)} "
                           "day(s) ago, so every connection to it fails.", Confidence.PROVEN, ["disable-proxy"],
                           [f"ACME1: {finding.summary}"])
    return None


class CertExpiry(Check):
    code = "ACME1"
    title = "buildkitd certificate"
    category = "earthly"
    doc = CheckDoc("the certificate's expiry", "an expired one fails every build", "ACME1 fail", "renew it")
    rules = (CauseRule("acme-cert-expired", 550, _expired),)  # before `healthy` (600): heard over a working proxy

    def run(self, ctx: Context) -> Finding:
        days = int(ctx.env.env.get("ACME_CERT_DAYS_LEFT", "30"))
        evidence = [Evidence("days_left", days, "ACME_CERT_DAYS_LEFT")]
        if days < 0:
            return self.fail(f"expired {-days} day(s) ago", evidence=evidence, published=CertState(days))
        if days < 7:
            return self.warn(f"expires in {days} day(s)", evidence=evidence, published=CertState(days))
        return self.passed(f"valid for {days} days", evidence=evidence, published=CertState(days))
