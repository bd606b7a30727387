// expect: value "undefined"
// The engine layer puts __v8x_import_defer on the global when a script
// mentions import.defer, even in a comment: import.defer
typeof __v8x_import_defer
