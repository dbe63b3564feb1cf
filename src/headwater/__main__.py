"""``python -m headwater``"""

from headwater.cli.app import main

main()
