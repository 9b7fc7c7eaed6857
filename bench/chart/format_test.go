package main

import "testing"

func TestFormatValue(t *testing.T) {
	for _, tc := range []struct {
		v    float64
		want string
	}{
		{0, "0"},
		{0.042, "0.042"},
		{1.234, "1.23"},
		{61.2, "61.2"},
		{120.4, "120"},
		{999.4, "999"},
		{999.6, "1000"},
		{2710, "2710"},
		{9999.4, "9999"},
		{14000, "14.0k"},
		{149000, "149k"},
		{999_600, "1.00M"},
		{2_400_000, "2.40M"},
		{3.3e9, "3.30G"},
		{-61.2, "-61.2"},
	} {
		if got := formatValue(tc.v); got != tc.want {
			t.Errorf("formatValue(%v) = %q, want %q", tc.v, got, tc.want)
		}
	}
}

func TestFormatRatio(t *testing.T) {
	for _, tc := range []struct {
		r    float64
		want string
	}{
		{0, "0x"},
		{0.001234, "0.0012x"},
		{0.42, "0.42x"},
		{1, "1.00x"},
		{9.5, "9.50x"},
		{12.34, "12.3x"},
		{140.4, "140x"},
	} {
		if got := formatRatio(tc.r); got != tc.want {
			t.Errorf("formatRatio(%v) = %q, want %q", tc.r, got, tc.want)
		}
	}
}

func TestBetterHint(t *testing.T) {
	for unit, want := range map[string]string{
		"MB/s": "more is better", "ops/s": "more is better",
		"p50-us": "less is better", "p99-us": "less is better", "ns/op": "less is better",
		"B/op": "less is better", "allocs/op": "less is better", "allocs/call": "less is better",
		"bytes/link": "less is better", "cpu-%-of-one-core": "less is better",
		"ratio": "",
	} {
		if got := betterHint(unit); got != want {
			t.Errorf("betterHint(%q) = %q, want %q", unit, got, want)
		}
	}
}
