"""The composition root: assembles the `tovholder` command from the groups that live
beside what they drive (`server.cli`, `client.cli`) and the end-to-end demo."""
