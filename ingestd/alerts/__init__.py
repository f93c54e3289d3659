"""Reminders and alerts: events found in the database, raised once each (by key), and
delivered on every configured channel with retries, every step audited."""
