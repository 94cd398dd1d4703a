package cell

import (
	"go/scanner"
	"go/token"
	"strings"
)

// IsComplete says whether src can be run as is ("complete"), needs more
// lines ("incomplete", with the indent for the next line: four spaces per
// open bracket), or cannot be fixed by adding lines ("invalid").
func IsComplete(src string) (status string, indent string) {
	if strings.TrimSpace(src) == "" {
		return "complete", ""
	}
	depth, open := bracketDepth(src)
	if open {
		return "incomplete", ""
	}
	if depth > 0 {
		return "incomplete", strings.Repeat("    ", depth)
	}
	if depth < 0 {
		return "invalid", ""
	}
	_, err := parseCell(src)
	if err == nil {
		return "complete", ""
	}
	// A line ending in a binary operator or a comma continues.
	t := strings.TrimRight(src, " \t\n")
	for _, suffix := range []string{"+", "-", "*", "/", "&&", "||", ",", "=", "(", ".", "|", "&", "<-"} {
		if strings.HasSuffix(t, suffix) {
			return "incomplete", ""
		}
	}
	return "invalid", ""
}

// bracketDepth counts unclosed brackets and reports an unterminated raw
// string or comment at the end of src.
func bracketDepth(src string) (depth int, openLiteral bool) {
	fset := token.NewFileSet()
	file := fset.AddFile("", -1, len(src))
	var s scanner.Scanner
	s.Init(file, []byte(src), func(pos token.Position, msg string) {
		if strings.Contains(msg, "raw string literal not terminated") || strings.Contains(msg, "comment not terminated") {
			openLiteral = true
		}
	}, 0)
	for {
		_, t, _ := s.Scan()
		switch t {
		case token.EOF:
			return depth, openLiteral
		case token.LPAREN, token.LBRACK, token.LBRACE:
			depth++
		case token.RPAREN, token.RBRACK, token.RBRACE:
			depth--
		}
	}
}
