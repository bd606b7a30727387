// expect: value "undefined"
typeof ShadowRealm
