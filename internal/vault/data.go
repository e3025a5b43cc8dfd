package vault

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Errors about accounts; match with errors.Is.
var (
	ErrNoAccount = errors.New("no such account")
	ErrDuplicate = errors.New("an account with that name already exists")
)

// Data is the vault's content: the accounts, in the order they were added.
type Data struct {
	Accounts []Account
}

// Clone returns a deep copy of d.
func (d *Data) Clone() *Data {
	out := &Data{Accounts: make([]Account, len(d.Accounts))}
	for i, a := range d.Accounts {
		out.Accounts[i] = a.Clone()
	}
	return out
}

// index finds name: an exact match first, then the only case-insensitive
// one.
func (d *Data) index(name string) int {
	for i := range d.Accounts {
		if d.Accounts[i].Name == name {
			return i
		}
	}
	for i := range d.Accounts {
		if strings.EqualFold(d.Accounts[i].Name, name) {
			return i
		}
	}
	return -1
}

// Lookup returns the account called name (matched exactly, else
// case-insensitively). The pointer is into d: changes through it are saved
// by Update.
func (d *Data) Lookup(name string) (*Account, error) {
	i := d.index(name)
	if i < 0 {
		return nil, fmt.Errorf("%w %q", ErrNoAccount, name)
	}
	return &d.Accounts[i], nil
}

// Add appends a after validating it; a name already taken
// (case-insensitively) is ErrDuplicate.
func (d *Data) Add(a Account) error {
	if err := a.Validate(); err != nil {
		return err
	}
	if d.index(a.Name) >= 0 {
		return fmt.Errorf("%w: %q", ErrDuplicate, a.Name)
	}
	d.Accounts = append(d.Accounts, a.Clone())
	return nil
}

// Remove deletes the account called name and returns it.
func (d *Data) Remove(name string) (Account, error) {
	i := d.index(name)
	if i < 0 {
		return Account{}, fmt.Errorf("%w %q", ErrNoAccount, name)
	}
	a := d.Accounts[i]
	d.Accounts = append(d.Accounts[:i], d.Accounts[i+1:]...)
	return a, nil
}

// Rename gives the account called old the name new. Changing only the case
// of a name is allowed.
func (d *Data) Rename(old, new string) error {
	i := d.index(old)
	if i < 0 {
		return fmt.Errorf("%w %q", ErrNoAccount, old)
	}
	if err := CheckName(new); err != nil {
		return err
	}
	if j := d.index(new); j >= 0 && j != i {
		return fmt.Errorf("%w: %q", ErrDuplicate, new)
	}
	d.Accounts[i].Name = new
	return nil
}

// UniqueName returns base, or base with " #2", " #3", ... appended, whichever
// is the first name not taken.
func (d *Data) UniqueName(base string) string {
	if d.index(base) < 0 {
		return base
	}
	for n := 2; ; n++ {
		suffix := " #" + strconv.Itoa(n)
		name := base
		if len(name)+len(suffix) > MaxNameLen {
			name = cleanName(name[:MaxNameLen-len(suffix)])
		}
		if d.index(name+suffix) < 0 {
			return name + suffix
		}
	}
}

// validate checks every account and that names are unique.
func (d *Data) validate() error {
	seen := make(map[string]bool, len(d.Accounts))
	for i := range d.Accounts {
		a := &d.Accounts[i]
		if err := a.Validate(); err != nil {
			return err
		}
		k := strings.ToLower(a.Name)
		if seen[k] {
			return fmt.Errorf("%w: %q", ErrDuplicate, a.Name)
		}
		seen[k] = true
	}
	return nil
}
