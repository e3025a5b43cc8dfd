package smtp

import (
	"html/template"
	"strings"
)

// footer ends every message.
func footer(org string) string {
	return "Sent by twostep for " + org + ". This is an automatic message; replies are not read."
}

// segment is a run of text in a line of the HTML body; Link is set for an
// https:// address.
type segment struct {
	Text string
	Link string
}

type page struct {
	Organization string
	Subject      string
	Paragraphs   [][][]segment // paragraph, line, segment
	Footer       string
}

// htmlPage renders the HTML body. html/template escapes every value; href
// values are https URLs only (see segments).
var htmlPage = template.Must(template.New("email").Parse(`<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width"><title>{{.Subject}}</title></head>
<body style="font-family: system-ui, sans-serif; line-height: 1.5; color: #111; max-width: 40em;">
<p style="font-size: 1.1em; font-weight: bold;">{{.Organization}}</p>
{{range .Paragraphs}}<p>{{range $i, $line := .}}{{if $i}}<br>
{{end}}{{range $line}}{{if .Link}}<a href="{{.Link}}">{{.Text}}</a>{{else}}{{.Text}}{{end}}{{end}}{{end}}</p>
{{end}}<hr>
<p style="font-size: 0.85em; color: #555;">{{.Footer}}</p>
</body>
</html>
`))

// Render returns the plain-text and HTML bodies of an email whose text is
// body: the plain text is body and a footer naming org; the HTML is the
// same text, escaped, in paragraphs (blank lines) and lines, with https://
// addresses as links.
func Render(org, subject, body string) (text, html string, err error) {
	body = strings.ReplaceAll(body, "\r\n", "\n")
	text = strings.TrimRight(body, "\n") + "\n\n-- \n" + footer(org) + "\n"
	p := page{Organization: org, Subject: subject, Footer: footer(org)}
	for _, para := range strings.Split(strings.Trim(body, "\n"), "\n\n") {
		if strings.TrimSpace(para) == "" {
			continue
		}
		var lines [][]segment
		for _, line := range strings.Split(para, "\n") {
			lines = append(lines, segments(strings.TrimSpace(line)))
		}
		p.Paragraphs = append(p.Paragraphs, lines)
	}
	var b strings.Builder
	if err := htmlPage.Execute(&b, p); err != nil {
		return "", "", err
	}
	return text, b.String(), nil
}

// segments splits a line into text and https:// links (a link ends at
// white space; a trailing full stop or comma is left out of it).
func segments(line string) []segment {
	var out []segment
	for line != "" {
		i := strings.Index(line, "https://")
		if i < 0 {
			out = append(out, segment{Text: line})
			break
		}
		if i > 0 {
			out = append(out, segment{Text: line[:i]})
		}
		end := strings.IndexAny(line[i:], " \t")
		if end < 0 {
			end = len(line) - i
		}
		link := strings.TrimRight(line[i:i+end], ".,;:)")
		out = append(out, segment{Text: link, Link: link})
		line = line[i+len(link):]
	}
	return out
}
