from payinfra.cli import main

main()
