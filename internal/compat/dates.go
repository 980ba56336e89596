package compat

import "fmt"

// badDate says what is wrong with s as a DATE/DATETIME value, or "" when s
// is a valid one or does not look like a date at all. Only strings shaped
// like dates (Y-M-D with '-' or '/', optional time) are judged: '1234' or
// 'abc' compared with a date column are someone else's problem.
func badDate(s string) string {
	d, ok := splitDate(s)
	if !ok {
		return ""
	}
	y, mo, day := d[0], d[1], d[2]
	switch {
	case d[6] > 4 || y > 9999:
		return fmt.Sprintf("year %d is out of range", y)
	case y == 0 && mo == 0 && day == 0 && d[3] == 0 && d[4] == 0 && d[5] == 0:
		return "zero date"
	case mo == 0 || day == 0:
		return "zero month or day"
	case mo > 12:
		return fmt.Sprintf("month %d does not exist", mo)
	case day > daysIn(y, mo):
		if mo == 2 && day == 29 {
			return fmt.Sprintf("February 29 of year %04d, not a leap year", y)
		}
		return fmt.Sprintf("day %d does not exist in month %d", day, mo)
	case d[3] > 23 || d[4] > 59 || d[5] > 59:
		return "time of day out of range"
	}
	return ""
}

// splitDate parses "Y-M-D[( |T)h:m[:s[.frac]]]" into year, month, day,
// hour, minute, second and the number of year digits.
func splitDate(s string) (d [7]int, ok bool) {
	i := 0
	num := func(max int) (int, int, bool) {
		start, v := i, 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' && i-start < max {
			v = v*10 + int(s[i]-'0')
			i++
		}
		return v, i - start, i > start
	}
	var n int
	if d[0], n, ok = num(6); !ok || n < 4 {
		return d, false
	}
	d[6] = n
	sep := byte(0)
	for k := 1; k <= 2; k++ {
		if i >= len(s) || (s[i] != '-' && s[i] != '/') || (sep != 0 && s[i] != sep) {
			return d, false
		}
		sep = s[i]
		i++
		if d[k], n, ok = num(2); !ok {
			return d, false
		}
	}
	if i == len(s) {
		return d, true
	}
	if s[i] != ' ' && s[i] != 'T' {
		return d, false
	}
	i++
	for k := 3; k <= 5; k++ {
		if d[k], n, ok = num(2); !ok {
			return d, false
		}
		if i == len(s) {
			return d, k >= 4
		}
		if k < 5 && s[i] == ':' {
			i++
			continue
		}
		break
	}
	if s[i] == '.' {
		i++
		if _, _, ok = num(9); !ok {
			return d, false
		}
	}
	return d, i == len(s)
}

// daysIn follows MySQL's calc_days_in_year: year 0 is not a leap year.
func daysIn(y, m int) int {
	switch m {
	case 4, 6, 9, 11:
		return 30
	case 2:
		if y != 0 && y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	}
	return 31
}
