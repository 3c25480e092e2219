from opsassist.cli import main

main()
