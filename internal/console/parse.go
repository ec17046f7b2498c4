package console

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Input limits: a console line longer than this, or with more words, is
// refused whole (a paste gone wrong, or an attack on the serial port).
const (
	MaxLine  = 1024
	MaxWords = 16
)

var errEmpty = errors.New("empty line")

// Split cuts a console line into words. Words are separated by blanks;
// 'single' and "double" quotes group, a backslash escapes the next
// character outside single quotes. Control characters and invalid UTF-8
// are refused with an error that names them by position.
func Split(line string) ([]string, error) {
	if len(line) > MaxLine {
		return nil, fmt.Errorf("line too long (%d bytes, at most %d)", len(line), MaxLine)
	}
	if !utf8.ValidString(line) {
		return nil, errors.New("line is not valid UTF-8")
	}
	var (
		words []string
		cur   strings.Builder
		in    bool // inside a word
		quote rune
		esc   bool
	)
	for i, r := range line {
		if r != '\t' && unicode.IsControl(r) {
			return nil, fmt.Errorf("control character %U at byte %d", r, i)
		}
		switch {
		case esc:
			cur.WriteRune(r)
			esc = false
		case quote == '\'':
			if r == '\'' {
				quote = 0
			} else {
				cur.WriteRune(r)
			}
		case quote == '"':
			switch r {
			case '"':
				quote = 0
			case '\\':
				esc = true
			default:
				cur.WriteRune(r)
			}
		case r == '\\':
			esc, in = true, true
		case r == '\'' || r == '"':
			quote, in = r, true
		case r == ' ' || r == '\t':
			if in {
				words = append(words, cur.String())
				cur.Reset()
				in = false
			}
		default:
			cur.WriteRune(r)
			in = true
		}
		if len(words) > MaxWords {
			return nil, fmt.Errorf("too many words (at most %d)", MaxWords)
		}
	}
	if quote != 0 {
		return nil, fmt.Errorf("unterminated %c quote", quote)
	}
	if esc {
		return nil, errors.New("line ends with a backslash")
	}
	if in {
		words = append(words, cur.String())
	}
	if len(words) > MaxWords {
		return nil, fmt.Errorf("too many words (at most %d)", MaxWords)
	}
	if len(words) == 0 {
		return nil, errEmpty
	}
	return words, nil
}
