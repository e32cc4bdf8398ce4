"""Static analysis and dependency audit, run by `make test`.

* bandit over app/: any finding of high severity fails.
* pip-audit over requirements.txt: a known vulnerability fails; when the advisory service
  cannot be reached (no network), the audit is skipped with a message instead.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def bandit() -> int:
    result = subprocess.run([str(BIN / "bandit"), "-r", "app", "-q", "-lll"], cwd=ROOT,
                            capture_output=True, text=True)
    if result.returncode != 0:
        print(result.stdout, result.stderr, sep="\n")
        print("bandit: high-severity findings (see above)")
        return 1
    print("bandit: no high-severity finding")
    return 0


def pip_audit() -> int:
    requirements = [line for line in (ROOT / "requirements.txt").read_text().splitlines()
                    if line.strip() and not line.startswith("#")]
    try:
        result = subprocess.run([str(BIN / "pip-audit"), "-r", "requirements.txt",
                                 "--progress-spinner", "off"], cwd=ROOT, capture_output=True,
                                text=True, timeout=180)
    except subprocess.TimeoutExpired:
        print("pip-audit: skipped, the advisory service did not answer in time")
        return 0
    output = result.stdout + result.stderr
    unaudited = output.count("could not be audited")
    if result.returncode != 0 and "Found" in output and "vulnerab" in output:
        print(output)
        print("pip-audit: known vulnerabilities (see above)")
        return 1
    if result.returncode != 0 or unaudited * 2 > len(requirements):
        print("pip-audit: skipped, the advisory service cannot be reached from here")
        return 0
    print(f"pip-audit: no known vulnerability ({unaudited} packages could not be audited)")
    return 0


if __name__ == "__main__":
    sys.exit(bandit() | pip_audit())
