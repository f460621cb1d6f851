"""The refresh wing: land -> stage -> features -> scores -> validate -> publish (through
``imgpipeline.store``). Only a refresh writes a published version."""
