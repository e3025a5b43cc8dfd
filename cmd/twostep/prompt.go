package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/term"
)

// errNoTerminal: a passphrase is needed and there is no one to ask.
var errNoTerminal = errors.New("no terminal to ask for the passphrase: set TWOSTEP_PASSPHRASE or TWOSTEP_PASSPHRASE_FILE, or use --passphrase-file")

// errNoAnswer: a question got end of input.
var errNoAnswer = errors.New("no answer: standard input is closed")

// canAskPassword reports whether askPassword has someone to ask.
func (a *app) canAskPassword() bool {
	if a.readPassword != nil {
		return true
	}
	f, ok := a.stdin.(*os.File)
	return ok && a.lines == nil && term.IsTerminal(int(f.Fd()))
}

// askPassword reads a secret from the terminal without echo. Ctrl-C gives
// the context's error, with the terminal restored.
func (a *app) askPassword(prompt string) (string, error) {
	if a.readPassword != nil {
		return a.readPassword(prompt)
	}
	// Once our line reader owns stdin, two readers would split the input.
	if !a.canAskPassword() {
		return "", errNoTerminal
	}
	fd := int(a.stdin.(*os.File).Fd())
	state, err := term.GetState(fd)
	if err != nil {
		return "", errNoTerminal
	}
	fmt.Fprint(a.stderr, prompt)
	type result struct {
		b   []byte
		err error
	}
	done := make(chan result, 1)
	go func() {
		b, err := term.ReadPassword(fd)
		done <- result{b, err}
	}()
	select {
	case r := <-done:
		fmt.Fprintln(a.stderr)
		if r.err != nil {
			return "", fmt.Errorf("read passphrase: %w", r.err)
		}
		return string(r.b), nil
	case <-a.ctx.Done():
		term.Restore(fd, state)
		fmt.Fprintln(a.stderr)
		return "", a.ctx.Err()
	}
}

type lineResult struct {
	line string
	err  error
}

// readLine returns the next line of standard input, without its line
// break. Lines are read by one goroutine, so that a question can be
// abandoned when the context ends.
func (a *app) readLine() (string, error) {
	if a.lines == nil {
		a.lines = make(chan lineResult)
		go func(r *bufio.Reader, out chan<- lineResult) {
			for {
				s, err := r.ReadString('\n')
				if s != "" || err == nil {
					out <- lineResult{line: strings.TrimRight(s, "\r\n")}
				}
				if err != nil {
					if errors.Is(err, io.EOF) {
						err = errNoAnswer
					}
					out <- lineResult{err: err}
					close(out)
					return
				}
			}
		}(bufio.NewReader(a.stdin), a.lines)
	}
	if a.linesDone {
		return "", errNoAnswer
	}
	select {
	case r, ok := <-a.lines:
		if !ok || r.err != nil {
			a.linesDone = true
			if r.err != nil {
				return "", r.err
			}
			return "", errNoAnswer
		}
		return r.line, nil
	case <-a.ctx.Done():
		return "", a.ctx.Err()
	}
}

// ask prints prompt and returns the trimmed answer.
func (a *app) ask(prompt string) (string, error) {
	fmt.Fprint(a.stdout, prompt)
	s, err := a.readLine()
	if err != nil {
		fmt.Fprintln(a.stdout)
		return "", err
	}
	return strings.TrimSpace(s), nil
}

// confirm asks a yes/no question whose default is no.
func (a *app) confirm(prompt string) (bool, error) {
	for {
		s, err := a.ask(prompt + " [y/N]: ")
		if err != nil {
			return false, err
		}
		switch strings.ToLower(s) {
		case "y", "yes":
			return true, nil
		case "", "n", "no":
			return false, nil
		}
		fmt.Fprintln(a.stdout, "Please answer y or n.")
	}
}
