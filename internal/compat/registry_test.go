package compat

import (
	"strings"
	"testing"
)

func TestChecks_RegistryComplete(t *testing.T) {
	seen := map[string]bool{}
	for _, c := range Checks() {
		if seen[c.ID] {
			t.Errorf("duplicate check ID %s", c.ID)
		}
		seen[c.ID] = true
		if c.Title == "" || c.Doc == "" || c.Fix == "" || len(c.Targets) == 0 {
			t.Errorf("%s: title, doc, fix and targets are all required", c.ID)
		}
		switch c.Scope {
		case ScopeLive:
			if c.live == nil {
				t.Errorf("%s: live check without a function", c.ID)
			}
		case ScopeQuery:
			if c.live != nil || !strings.HasPrefix(c.ID, "query-") {
				t.Errorf("%s: query checks are run by the Analyzer and named query-*", c.ID)
			}
		default:
			t.Errorf("%s: scope %q", c.ID, c.Scope)
		}
		switch c.Severity {
		case SevError, SevWarning, SevNotice:
		default:
			t.Errorf("%s: severity %q", c.ID, c.Severity)
		}
	}
	for _, id := range []string{QInvalidDate, QReservedWord, QRemovedFunction, QGroupByOrder, QFoundRows, QOnlyFullGroupBy, QSessionSQLMode, QUnparsable} {
		if !seen[id] {
			t.Errorf("query check %s is not registered", id)
		}
	}
}

func TestCheck_AppliesBySourceAndTarget(t *testing.T) {
	byID := map[string]*Check{}
	for _, c := range Checks() {
		byID[c.ID] = c
	}
	v := func(s string) Version {
		t.Helper()
		x, err := ParseVersion(s)
		if err != nil {
			t.Fatal(err)
		}
		return x
	}
	cases := []struct {
		id     string
		src    string
		target Target
		want   bool
	}{
		{"group-by-asc-desc", "5.7.44-log", Target80, true},
		{"group-by-asc-desc", "8.0.36", Target84, false},
		{"group-by-asc-desc", "10.11.6-MariaDB", Target84, true},
		{"foreign-key-non-unique-reference", "8.0.36", Target84, true},
		{"foreign-key-non-unique-reference", "5.7.44", Target80, false},
		{QInvalidDate, "8.0.15", Target80, true},
		{QInvalidDate, "8.0.16", Target84, false},
		{"auth-native-password", "8.0.36", Target84, true},
	}
	for _, c := range cases {
		if got := byID[c.id].Applies(v(c.src), c.target); got != c.want {
			t.Errorf("%s from %s to %s: applies=%v, want %v", c.id, c.src, c.target, got, c.want)
		}
	}
	if byID["auth-native-password"].SeverityFor(Target84) != SevError || byID["auth-native-password"].SeverityFor(Target80) != SevWarning {
		t.Error("auth-native-password: warning for 8.0, error for 8.4")
	}
}

func TestPrintList_DocumentsEveryCheck(t *testing.T) {
	var b strings.Builder
	if err := PrintList(&b, Checks()); err != nil {
		t.Fatal(err)
	}
	for _, c := range Checks() {
		if !strings.Contains(b.String(), c.ID+"  [") {
			t.Errorf("--list lacks %s", c.ID)
		}
	}
}

func TestValueIn_NumbersByValue(t *testing.T) {
	if !valueIn("0.000000", []string{"0"}) || !valueIn("on", []string{"ON"}) || valueIn("7.000000", []string{"0"}) || valueIn("OFF", []string{"0"}) {
		t.Error("valueIn")
	}
	if isOneOf("01", []string{"1"}) || !isOneOf("App", []string{"app"}) {
		t.Error("isOneOf compares schema names as text")
	}
}
