"""Adapters: real clickstream samples -> contract events in the raw lake layout.

``rees46`` reads the REES46 e-commerce CSV, ``yoochoose`` the YooChoose
RecSys 2015 click TSV. Each yields ``(received ms, JSON line)`` pairs and
records what it read and skipped in an ``ImportSummary``; ``common.write_lake``
packs the lines into objects exactly like ``clickstream generate`` does.

Event ids are stable: a uuid5 of the source name, the row's text and how many
identical rows came before it in the same file. Importing the same file twice
gives the same ids, so the second import is all duplicates.
"""
