package main

import (
	"fmt"
	"math"
	"strings"
)

// formatValue writes v with three significant digits, and k, M or G from
// 10 000 up, so figures that differ by orders of magnitude stay readable:
// 0.042, 61.2, 2710, 14.0k, 2.40M.
func formatValue(v float64) string {
	a := math.Abs(v)
	switch {
	case a == 0:
		return "0"
	case a >= 999.5e6:
		return threeDigits(v/1e9) + "G"
	case a >= 999.5e3:
		return threeDigits(v/1e6) + "M"
	case a >= 9999.5:
		return threeDigits(v/1e3) + "k"
	case a >= 999.5:
		return fmt.Sprintf("%.0f", v)
	case a >= 1:
		return threeDigits(v)
	default:
		return fmt.Sprintf("%.3g", v)
	}
}

// threeDigits formats v, whose magnitude is from 1 to just under 1000.
func threeDigits(v float64) string {
	switch a := math.Abs(v); {
	case a >= 99.95:
		return fmt.Sprintf("%.0f", v)
	case a >= 9.995:
		return fmt.Sprintf("%.1f", v)
	default:
		return fmt.Sprintf("%.2f", v)
	}
}

// formatRatio writes a ratio as 0.42x, 2.60x, 12.3x or 140x.
func formatRatio(r float64) string {
	switch a := math.Abs(r); {
	case a == 0:
		return "0x"
	case a >= 99.5:
		return fmt.Sprintf("%.0fx", r)
	case a >= 9.995:
		return fmt.Sprintf("%.1fx", r)
	case a >= 0.01:
		return fmt.Sprintf("%.2fx", r)
	default:
		return fmt.Sprintf("%.2gx", r)
	}
}

// betterHint says which way a metric is better, from its unit, or "" when
// the unit does not tell (a plain "ratio", say).
func betterHint(unit string) string {
	switch {
	case strings.HasSuffix(unit, "/s"):
		return "more is better"
	case unit == "ns/op" || unit == "B/op" || unit == "allocs/op",
		strings.HasSuffix(unit, "-ns"), strings.HasSuffix(unit, "-us"), strings.HasSuffix(unit, "-ms"),
		strings.HasPrefix(unit, "bytes/"), strings.HasPrefix(unit, "B/"),
		strings.HasPrefix(unit, "allocs/"), strings.HasPrefix(unit, "cpu-"):
		return "less is better"
	}
	return ""
}
