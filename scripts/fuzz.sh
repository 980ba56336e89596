#!/bin/sh
# fuzz.sh FUZZTIME PACKAGE:TARGET...  runs each fuzz target for FUZZTIME,
# one after the other (Go fuzzes one target of one package per run).
#
# A failing input is written to PACKAGE/testdata/fuzz/TARGET/: commit it
# with the fix, as a regression seed. Go 1.26's coordinator can also fail a
# run that found nothing with a bare "context deadline exceeded" as
# -fuzztime expires (go.dev/issue/75804, fixed in 1.27): that run wrote no
# input and says nothing else, so it is reported and not counted as a
# failure (a failing seed, which writes no input either, says more).
set -eu
GO=${GO:-go}
fuzztime=$1
shift
failed=0
for t in "$@"; do
	pkg=${t%%:*}
	target=${t#*:}
	echo "fuzz $target ($pkg, $fuzztime)"
	corpus=$pkg/testdata/fuzz/$target
	before=$(ls "$corpus" 2>/dev/null | wc -l)
	out=$(mktemp)
	if $GO test -run '^$' -fuzz "^$target\$" -fuzztime "$fuzztime" "$pkg" >"$out" 2>&1; then
		tail -n 1 "$out"
	elif [ "$(ls "$corpus" 2>/dev/null | wc -l)" -eq "$before" ] && grep -q '^    context deadline exceeded$' "$out"; then
		echo "  stopped by go.dev/issue/75804 at the end of -fuzztime (no failing input): not a failure"
	else
		cat "$out"
		failed=1
	fi
	rm -f "$out"
done
exit $failed
