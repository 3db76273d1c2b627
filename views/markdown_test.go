package views

import (
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"
)

func TestMarkdownIsSafe(t *testing.T) {
	cases := []struct {
		name, src string
		// text the reader must see, and HTML that must not be there
		text    string
		notHTML []string
	}{
		{"script block", "<script>alert(1)</script>", "<script>alert(1)</script>", []string{"<script"}},
		{"inline script", "Hello <script>alert(1)</script> world", "Hello <script>alert(1)</script> world", []string{"<script"}},
		{"event handler", `<img src=x onerror="alert(1)">`, `<img src=x onerror="alert(1)">`, []string{"<img"}},
		{"javascript link", "[click](javascript:alert(1))", "click", []string{"javascript:"}},
		{"javascript autolink", "<javascript:alert(1)>", "", []string{`href="javascript:`}},
		{"vbscript link", "[x](vbscript:msgbox)", "x", []string{"vbscript:"}},
		{"iframe block", "<iframe src=\"https://evil.example\"></iframe>\n\ntext", "<iframe", []string{"<iframe"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h, err := RenderMarkdown(c.src)
			if err != nil {
				t.Fatal(err)
			}
			for _, bad := range c.notHTML {
				if strings.Contains(h, bad) {
					t.Errorf("rendered %q to %q, which contains %q", c.src, h, bad)
				}
			}
			d, err := goquery.NewDocumentFromReader(strings.NewReader(h))
			if err != nil {
				t.Fatal(err)
			}
			if n := d.Find("script, iframe, img, [onerror]").Length(); n != 0 {
				t.Errorf("rendered %q to %q: %d active elements", c.src, h, n)
			}
			if !strings.Contains(d.Text(), c.text) {
				t.Errorf("rendered %q to %q: the text %q is not shown", c.src, h, c.text)
			}
		})
	}
}

func TestMarkdownFormats(t *testing.T) {
	h, err := RenderMarkdown("# Title\n\n**bold** and [a link](https://school.example/x?a=1&b=2)\n\n- one\n- two")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"<h1>Title</h1>", "<strong>bold</strong>", `<a href="https://school.example/x?a=1&amp;b=2">a link</a>`, "<li>one</li>"} {
		if !strings.Contains(h, want) {
			t.Errorf("rendered to %q, want %q in it", h, want)
		}
	}
}
