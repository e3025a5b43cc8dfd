package mfa

import "time"

func testTime() time.Time { return time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC) }
