from yibaolang.cli import main

main()
