#!/usr/bin/env bash
# websockets' own tests, unpatched and patched. Its sdist ships no tests, so
# they come from a clone of its repository at a tag (the newest one there
# for the installed version), which run.py cannot download:
#
#   tests/hosts/websockets_repo.sh PATH/TO/websockets-clone [TAG]   (default 17.0.1)
#
# Same rule as run.py: every test must have the same outcome both ways.
set -euo pipefail
repo=${1:?usage: websockets_repo.sh PATH/TO/websockets-clone [TAG]}
tag=${2:-17.0.1}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
git -C "$repo" archive "$tag" tests | tar x -C "$work"
cat > "$work/conftest.py" <<'PY'
import os

if os.environ.get("WSFAST_HOST_PATCH"):
    import wsfast

    assert wsfast.patch("websockets") == ["websockets"], "websockets was not patched"
PY
tests="tests/test_protocol.py tests/test_frames.py tests/test_streams.py tests/test_utils.py
       tests/test_server.py tests/test_client.py tests/test_connection.py
       tests/extensions tests/asyncio tests/sync"
for state in unpatched patched; do
    patch=""; [ "$state" = patched ] && patch=1
    (cd "$work" && WSFAST_HOST_PATCH=$patch WSFAST_EXTENSIONS=1 python -m pytest -q -p no:cacheprovider \
        $tests --junitxml="$work/junit-$state.xml" >"$work/log-$state.txt" 2>&1) || true
    tail -1 "$work/log-$state.txt"
done
python - "$work/junit-unpatched.xml" "$work/junit-patched.xml" <<'PY'
import collections
import sys
import xml.etree.ElementTree as ElementTree


def outcomes(path):
    found = {}
    for case in ElementTree.parse(path).iter("testcase"):
        tags = {child.tag for child in case}
        outcome = next((t for t in ("failure", "error", "skipped") if t in tags), "passed")
        found[case.get("classname") + "::" + case.get("name")] = outcome
    return found


before, after = outcomes(sys.argv[1]), outcomes(sys.argv[2])
for label, found in (("unpatched", before), ("patched", after)):
    print(f"{label}: {len(found)} tests: {dict(collections.Counter(found.values()))}")
differ = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
for key in differ:
    print(f"  differs: {key}: {before.get(key)} -> {after.get(key)}")
print("websockets: same outcome for every test" if not differ else f"websockets: {len(differ)} tests differ")
sys.exit(1 if differ or not before else 0)
PY
