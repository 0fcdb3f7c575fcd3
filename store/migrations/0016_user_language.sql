-- The language a user chose for the pages (web/i18n.py): remembered in their row, so that it follows them
-- to another browser when they sign in. NULL: not chosen; the browser's Accept-Language then decides.
ALTER TABLE users ADD COLUMN language text CHECK (language ~ '^[a-z]{2,3}$');
