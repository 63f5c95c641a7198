package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/beaconlive/beacon/store"
)

const userCols = `id, login, display_name, email, password_hash, created_at, disabled, failed_logins, locked_until, totp_enabled`

func scanUser(row interface{ Scan(...any) error }) (store.User, error) {
	var u store.User
	err := row.Scan(&u.ID, &u.Login, &u.DisplayName, &u.Email, &u.PasswordHash, tm{&u.CreatedAt}, &u.Disabled, &u.FailedLogins, tm{&u.LockedUntil}, &u.TOTPEnabled)
	return u, err
}

// CreateUser implements store.Users.
func (s *DB) CreateUser(ctx context.Context, nu store.NewUser) (store.User, error) {
	if err := s.check(); err != nil {
		return store.User{}, err
	}
	if err := store.ValidateNewUser(&nu); err != nil {
		return store.User{}, err
	}
	now := s.clock()
	var id store.UserID
	err := s.tx(ctx, "create user", func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `INSERT INTO users (login, display_name, email, password_hash, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id`,
			nu.Login, nu.DisplayName, nu.Email, nu.PasswordHash, s.t(now)).Scan(&id)
		if err != nil {
			return s.wrap("create user", err)
		}
		for _, r := range nu.Roles {
			if _, err := tx.ExecContext(ctx, `INSERT INTO user_roles (user_id, role, granted_at) VALUES ($1, $2, $3)`, id, string(r), s.t(now)); err != nil {
				return s.wrap("create user", err)
			}
		}
		return nil
	})
	if err != nil {
		return store.User{}, err
	}
	return s.UserByID(ctx, id)
}

func (s *DB) loadUser(ctx context.Context, op, where string, arg any) (store.User, error) {
	if err := s.check(); err != nil {
		return store.User{}, err
	}
	u, err := scanUser(s.db.QueryRowContext(ctx, `SELECT `+userCols+` FROM users WHERE `+where, arg))
	if err != nil {
		return store.User{}, s.wrap(op, err)
	}
	if u.Roles, err = s.UserRoles(ctx, u.ID); err != nil {
		return store.User{}, err
	}
	return u, nil
}

// UserByID implements store.Users.
func (s *DB) UserByID(ctx context.Context, id store.UserID) (store.User, error) {
	return s.loadUser(ctx, "user by id", `id = $1`, id)
}

// UserByLogin implements store.Users.
func (s *DB) UserByLogin(ctx context.Context, login string) (store.User, error) {
	n, err := store.NormalizeLogin(login)
	if err != nil {
		return store.User{}, err
	}
	return s.loadUser(ctx, "user by login", `login = $1`, n)
}

// UpdateUser implements store.Users.
func (s *DB) UpdateUser(ctx context.Context, id store.UserID, up store.UserUpdate) (store.User, error) {
	if err := s.check(); err != nil {
		return store.User{}, err
	}
	if err := store.ValidateUserUpdate(&up); err != nil {
		return store.User{}, err
	}
	err := s.tx(ctx, "update user", func(tx *sql.Tx) error {
		if up.DisplayName != nil {
			if err := s.exec1(ctx, tx, "update user", `UPDATE users SET display_name = $2 WHERE id = $1`, id, *up.DisplayName); err != nil {
				return err
			}
		}
		if up.Email != nil {
			if err := s.exec1(ctx, tx, "update user", `UPDATE users SET email = $2 WHERE id = $1`, id, *up.Email); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return store.User{}, err
	}
	return s.UserByID(ctx, id)
}

type execer interface {
	ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error)
}

// exec1 runs a statement that must affect at least one row (else ErrNotFound).
func (s *DB) exec1(ctx context.Context, e execer, op, q string, args ...any) error {
	if err := s.check(); err != nil {
		return err
	}
	r, err := e.ExecContext(ctx, q, args...)
	if err != nil {
		return s.wrap(op, err)
	}
	if affected(r) == 0 {
		return notFound(op)
	}
	return nil
}

// SetPasswordHash implements store.Users.
func (s *DB) SetPasswordHash(ctx context.Context, id store.UserID, hash string) error {
	if len(hash) > 512 {
		return &store.ValidationError{Field: "password_hash", Reason: "is not a password hash"}
	}
	return s.exec1(ctx, s.db, "set password", `UPDATE users SET password_hash = $2 WHERE id = $1`, id, hash)
}

// SetDisabled implements store.Users.
func (s *DB) SetDisabled(ctx context.Context, id store.UserID, disabled bool) error {
	return s.exec1(ctx, s.db, "set disabled", `UPDATE users SET disabled = $2 WHERE id = $1`, id, disabled)
}

// RecordLoginFailure implements store.Users.
func (s *DB) RecordLoginFailure(ctx context.Context, id store.UserID) (int, error) {
	if err := s.check(); err != nil {
		return 0, err
	}
	var n int
	err := s.db.QueryRowContext(ctx, `UPDATE users SET failed_logins = failed_logins + 1 WHERE id = $1 RETURNING failed_logins`, id).Scan(&n)
	return n, s.wrap("record login failure", err)
}

// SetLockedUntil implements store.Users.
func (s *DB) SetLockedUntil(ctx context.Context, id store.UserID, until time.Time) error {
	return s.exec1(ctx, s.db, "set locked until", `UPDATE users SET locked_until = $2 WHERE id = $1`, id, s.t(until))
}

// ResetLoginFailures implements store.Users.
func (s *DB) ResetLoginFailures(ctx context.Context, id store.UserID) error {
	return s.exec1(ctx, s.db, "reset login failures", `UPDATE users SET failed_logins = 0, locked_until = NULL WHERE id = $1`, id)
}

// GrantRole implements store.Roles.
func (s *DB) GrantRole(ctx context.Context, id store.UserID, r store.Role) error {
	if err := s.check(); err != nil {
		return err
	}
	if _, err := store.ParseRole(string(r)); err != nil {
		return err
	}
	_, err := s.db.ExecContext(ctx, `INSERT INTO user_roles (user_id, role, granted_at) VALUES ($1, $2, $3) ON CONFLICT (user_id, role) DO NOTHING`, id, string(r), s.t(s.clock()))
	return s.wrap("grant role", err)
}

// RevokeRole implements store.Roles.
func (s *DB) RevokeRole(ctx context.Context, id store.UserID, r store.Role) error {
	if err := s.check(); err != nil {
		return err
	}
	if _, err := store.ParseRole(string(r)); err != nil {
		return err
	}
	if _, err := s.UserByID(ctx, id); err != nil {
		return err
	}
	_, err := s.db.ExecContext(ctx, `DELETE FROM user_roles WHERE user_id = $1 AND role = $2`, id, string(r))
	return s.wrap("revoke role", err)
}

// UserRoles implements store.Roles.
func (s *DB) UserRoles(ctx context.Context, id store.UserID) ([]store.Role, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	rows, err := s.db.QueryContext(ctx, `SELECT role FROM user_roles WHERE user_id = $1`, id)
	if err != nil {
		return nil, s.wrap("user roles", err)
	}
	defer rows.Close()
	var roles []store.Role
	for rows.Next() {
		var r string
		if err := rows.Scan(&r); err != nil {
			return nil, s.wrap("user roles", err)
		}
		roles = append(roles, store.Role(r))
	}
	if err := rows.Err(); err != nil {
		return nil, s.wrap("user roles", err)
	}
	return store.SortRoles(roles), nil
}

// SetTOTPSecret implements store.TwoFactor.
func (s *DB) SetTOTPSecret(ctx context.Context, id store.UserID, secret string) error {
	if err := s.check(); err != nil {
		return err
	}
	if secret == "" || len(secret) > store.MaxSecretLen {
		return &store.ValidationError{Field: "totp_secret", Reason: "must be 1 to 128 characters"}
	}
	r, err := s.db.ExecContext(ctx, `UPDATE users SET totp_secret = $2, totp_last_step = 0 WHERE id = $1 AND totp_enabled = FALSE`, id, secret)
	if err != nil {
		return s.wrap("set totp secret", err)
	}
	if affected(r) == 0 {
		if _, err := s.UserByID(ctx, id); err != nil {
			return err
		}
		return fmt.Errorf("store: set totp secret: two-factor authentication is already enabled: %w", store.ErrConflict)
	}
	return nil
}

// EnableTOTP implements store.TwoFactor.
func (s *DB) EnableTOTP(ctx context.Context, id store.UserID, step int64, codes [][]byte) error {
	if err := s.check(); err != nil {
		return err
	}
	for _, c := range codes {
		if err := store.ValidateHash("recovery_code_hash", c); err != nil {
			return err
		}
	}
	return s.tx(ctx, "enable totp", func(tx *sql.Tx) error {
		r, err := tx.ExecContext(ctx, `UPDATE users SET totp_enabled = TRUE, totp_last_step = $2 WHERE id = $1 AND totp_secret <> ''`, id, step)
		if err != nil {
			return s.wrap("enable totp", err)
		}
		if affected(r) == 0 {
			return fmt.Errorf("store: enable totp: no secret set up for user %d: %w", id, store.ErrConflict)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM recovery_codes WHERE user_id = $1`, id); err != nil {
			return s.wrap("enable totp", err)
		}
		for _, c := range codes {
			if _, err := tx.ExecContext(ctx, `INSERT INTO recovery_codes (user_id, hash) VALUES ($1, $2)`, id, c); err != nil {
				return s.wrap("enable totp", err)
			}
		}
		return nil
	})
}

// DisableTOTP implements store.TwoFactor.
func (s *DB) DisableTOTP(ctx context.Context, id store.UserID) error {
	if err := s.check(); err != nil {
		return err
	}
	return s.tx(ctx, "disable totp", func(tx *sql.Tx) error {
		if err := s.exec1(ctx, tx, "disable totp", `UPDATE users SET totp_enabled = FALSE, totp_secret = '', totp_last_step = 0 WHERE id = $1`, id); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM recovery_codes WHERE user_id = $1`, id)
		return s.wrap("disable totp", err)
	})
}

// TOTPState implements store.TwoFactor.
func (s *DB) TOTPState(ctx context.Context, id store.UserID) (store.TOTPState, error) {
	if err := s.check(); err != nil {
		return store.TOTPState{}, err
	}
	var st store.TOTPState
	err := s.db.QueryRowContext(ctx, `SELECT totp_secret, totp_enabled, totp_last_step,
		(SELECT COUNT(*) FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL) FROM users WHERE id = $1`, id).
		Scan(&st.Secret, &st.Enabled, &st.LastStep, &st.RecoveryCodesLeft)
	return st, s.wrap("totp state", err)
}

// AdvanceTOTPStep implements store.TwoFactor.
func (s *DB) AdvanceTOTPStep(ctx context.Context, id store.UserID, step int64) (bool, error) {
	if err := s.check(); err != nil {
		return false, err
	}
	r, err := s.db.ExecContext(ctx, `UPDATE users SET totp_last_step = $2 WHERE id = $1 AND totp_last_step < $2`, id, step)
	if err != nil {
		return false, s.wrap("advance totp step", err)
	}
	return affected(r) == 1, nil
}

// UseRecoveryCode implements store.TwoFactor.
func (s *DB) UseRecoveryCode(ctx context.Context, id store.UserID, hash []byte) (bool, error) {
	if err := s.check(); err != nil {
		return false, err
	}
	if err := store.ValidateHash("recovery_code_hash", hash); err != nil {
		return false, err
	}
	r, err := s.db.ExecContext(ctx, `UPDATE recovery_codes SET used_at = $3 WHERE user_id = $1 AND hash = $2 AND used_at IS NULL`, id, hash, s.t(s.clock()))
	if err != nil {
		return false, s.wrap("use recovery code", err)
	}
	return affected(r) == 1, nil
}
