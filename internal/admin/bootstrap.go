package admin

import (
	"context"
	"errors"
	"fmt"

	"github.com/twostep-auth/twostep/internal/mfa"
)

// Key is an integration's key pair as handed to an operator.
type Key struct {
	IKey string     `json:"ikey"`
	SKey mfa.Secret `json:"-"`
}

// Credentials are what a fresh installation hands its operator once.
type Credentials struct {
	Owner         mfa.Admin
	OwnerPassword mfa.Passcode
	AdminAPI      Key
	AuthAPI       Key
}

// BootstrapOwnerEmail is the first administrator's login.
const BootstrapOwnerEmail = "owner@localhost"

// Stager keeps bootstrap credentials durable across the commit: Stage
// writes them somewhere private before the store commits, Publish makes them
// final after it, Discard removes the staged copy when the commit fails. A
// crash between commit and Publish leaves the staged copy for the operator.
type Stager interface {
	Stage(Credentials) error
	Publish() error
	Discard()
}

// Bootstrap creates, on a database with no administrator, an Owner with a
// random password, an Admin API integration with every permission and an
// Auth API integration, all in one store transaction, staging the
// credentials with st around the commit. It returns ok=false and no error
// when the installation is already bootstrapped, by an earlier start or by
// another node that won the race.
func (s *Service) Bootstrap(ctx context.Context, st Stager) (creds Credentials, ok bool, err error) {
	n, err := s.store.CountAdmins(ctx)
	if err != nil {
		return Credentials{}, false, fmt.Errorf("bootstrap: %w", err)
	}
	if n > 0 {
		return Credentials{}, false, nil
	}
	now := s.now()
	password, err := mfa.RandomString(s.rand, passwordAlphabet, 24)
	if err != nil {
		return Credentials{}, false, fmt.Errorf("bootstrap: %w", err)
	}
	hash, err := s.hasher.Hash(password, s.rand)
	if err != nil {
		return Credentials{}, false, fmt.Errorf("bootstrap: %w", err)
	}
	id, err := mfa.NewID(mfa.PrefixAdmin, s.rand)
	if err != nil {
		return Credentials{}, false, fmt.Errorf("bootstrap: %w", err)
	}
	// The generated password is handed over in a file: the Owner must
	// choose their own at the first console sign-in.
	owner := mfa.Admin{ID: id, Email: BootstrapOwnerEmail, Name: "Owner", Role: mfa.RoleOwner, PasswordHash: hash, Created: now,
		PasswordChangeRequired: true}
	adminAPI, err := s.newIntegration("Admin API", mfa.IntegrationAdminAPI)
	if err != nil {
		return Credentials{}, false, fmt.Errorf("bootstrap: %w", err)
	}
	adminAPI.Permissions = mfa.AllAdminPermissions()
	authAPI, err := s.newIntegration("Auth API", mfa.IntegrationAuthAPI)
	if err != nil {
		return Credentials{}, false, fmt.Errorf("bootstrap: %w", err)
	}
	creds = Credentials{
		Owner:         owner,
		OwnerPassword: mfa.Passcode(password),
		AdminAPI:      Key{IKey: adminAPI.IKey, SKey: adminAPI.SKey},
		AuthAPI:       Key{IKey: authAPI.IKey, SKey: authAPI.SKey},
	}
	if err := st.Stage(creds); err != nil {
		return Credentials{}, false, fmt.Errorf("bootstrap: %w", err)
	}
	err = s.store.Bootstrap(ctx, owner, []mfa.Integration{adminAPI, authAPI})
	if err != nil {
		st.Discard()
		if errors.Is(err, mfa.ErrConflict) {
			return Credentials{}, false, nil
		}
		return Credentials{}, false, fmt.Errorf("bootstrap: %w", err)
	}
	if err := st.Publish(); err != nil {
		return Credentials{}, false, fmt.Errorf("bootstrap: committed, but the credentials stay staged: %w", err)
	}
	s.log.InfoContext(ctx, "bootstrapped a new installation", "owner", owner.Email,
		"admin_api_ikey", adminAPI.IKey, "auth_api_ikey", authAPI.IKey)
	return creds, true, nil
}

const passwordAlphabet = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"

const skeyAlphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

// newIntegration makes an integration with Duo-shaped keys: ikey "DI" + 18
// of A-Z0-9, skey 40 of A-Za-z0-9.
func (s *Service) newIntegration(name string, typ mfa.IntegrationType) (mfa.Integration, error) {
	ikey, err := mfa.NewID(mfa.PrefixIntegration, s.rand)
	if err != nil {
		return mfa.Integration{}, err
	}
	skey, err := mfa.RandomString(s.rand, skeyAlphabet, 40)
	if err != nil {
		return mfa.Integration{}, err
	}
	return mfa.Integration{
		IKey:              ikey,
		SKey:              mfa.Secret(skey),
		Name:              name,
		Type:              typ,
		EnrollPolicy:      mfa.EnrollPolicyEnroll,
		AllowV1Signatures: typ == mfa.IntegrationUnix,
		Created:           s.now(),
	}, nil
}
