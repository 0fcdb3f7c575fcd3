"""The law as data: Annex I certificate, Annex II breach form, Art 4(1) categories, validation, rendering."""
