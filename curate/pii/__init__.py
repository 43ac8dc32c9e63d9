"""PII: detection and redaction of e-mail, phone, IP, card, IBAN and SSN items (config + engine)."""
