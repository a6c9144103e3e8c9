"""aspace2alma: ArchivesSpace → Alma through the SFTP drop box."""
